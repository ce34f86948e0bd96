using System.Diagnostics;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Inference.Batching;
using InferenceGateway.Inference.Hosting;
using InferenceGateway.Inference.TextGeneration;
using InferenceGateway.Worker.Queue;
using InferenceGateway.Worker.Streaming;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// Runs one job's input through its model for the <see cref="InferenceConsumer"/>: takes the model
/// (a cold start when it is not loaded), then either generates, a token at a time into the job's
/// stream, or embeds the texts in slices, with a <c>progress</c> event after each (or, streaming, a
/// <c>chunk</c>). Says what came of it (<see cref="ModelOutcome"/>): the result, the input's fault,
/// the model's failure, or a stop (cancel, limit, shutdown); throws only when the model cannot load
/// or Redis fails, which the delivery's retry handles.
/// </summary>
public sealed class JobModelRunner(
    RedisJobStore store,
    ModelHost models,
    EmbeddingBatcher batcher,
    JobStreams streams,
    IOptions<WorkerOptions> options,
    ILogger<InferenceConsumer> logger)
{
    private readonly WorkerOptions _options = options.Value;

    /// <param name="job">The job.</param>
    /// <param name="stream">Its stream (generation, <c>input.stream</c>), or null.</param>
    /// <param name="run">The run's lease: its token fences the progress events; a refused one fences the run.</param>
    /// <param name="armLimit">Starts the job's own execution limit.</param>
    /// <param name="checkLimit">Checks that limit (after each token).</param>
    /// <param name="cancellationToken">Stops the run (cancel, limit, shutdown, fence).</param>
    internal async Task<ModelOutcome> RunAsync(JobMessage job, JobStreamWriter? stream, RunLease? run, Action armLimit, Action checkLimit, CancellationToken cancellationToken)
    {
        var texts = job.Input.Texts ?? [];
        var outcome = new ModelOutcome();
        var clock = 0L;
        var generation = models.KindOf(job.Model) == ModelKinds.TextGeneration;
        if (generation && GenerationRequest.Validate(job.Input, models.OptionsOf(job.Model)) is { } invalid)
        {
            // Checked before the model loads: bad input never pays a cold start.
            outcome.Error = invalid;
            return outcome;
        }

        ModelLease lease;
        try
        {
            lease = await models.AcquireAsync(job.Model, cancellationToken);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            outcome.Stopped = true;
            return outcome;
        }

        // A model that cannot load (out of memory, a broken file) is not this job's fault: the
        // exception releases the message with backoff, for this worker later or another one.
        try
        {
            using var held = lease;
            outcome.ColdStart = lease.ColdStart;
            outcome.InitMs = lease.InitMs;
            if (generation)
            {
                var generator = lease.Generator;
                var settings = GenerationRequest.Settings(job.Input, models.OptionsOf(job.Model), job.JobId);
                clock = Stopwatch.GetTimestamp();
                armLimit();
                // A dedicated thread, not a pool thread held for the whole generation: the pool runs
                // the timers and the Redis continuations this job and others wait on.
                outcome.Generation = await Task.Factory.StartNew(
                    () => generator.Generate(
                        generator.PromptTokens(job.Input, cancellationToken),
                        settings,
                        (_, text) =>
                        {
                            stream!.WriteToken(text);
                            checkLimit();
                        },
                        cancellationToken: cancellationToken),
                    cancellationToken,
                    TaskCreationOptions.LongRunning,
                    TaskScheduler.Default);
                outcome.ExecutionMs = Stopwatch.GetElapsedTime(clock).TotalMilliseconds;
                return outcome;
            }

            outcome.Dimensions = lease.Model.EmbeddingDimensions;
            clock = Stopwatch.GetTimestamp();
            armLimit();
            var vectors = new float[texts.Count][];
            // A streaming job's chunks say how far it got, so it records no progress events.
            var slice = stream is null ? _options.ProgressEveryTexts : streams.Options.ChunkTexts;
            for (var done = 0; done < texts.Count;)
            {
                var count = Math.Min(slice, texts.Count - done);
                var part = texts.Skip(done).Take(count).ToArray();
                var embedded = await batcher.EmbedAsync(lease.Model, part, cancellationToken);
                embedded.CopyTo(vectors, done);
                stream?.WriteChunk(done, embedded, texts.Count);
                done += count;
                if (stream is null && done < texts.Count)
                {
                    await ReportProgressAsync(job.JobId, run, done, texts.Count);
                }
            }

            outcome.Vectors = vectors;
        }
        catch (GenerationInputException ex)
        {
            // The prompt does not fit the model's context: the input's fault, not the model's.
            outcome.Error = new JobError(ex.Code, ex.Message);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // ONNX Runtime reports its terminate flag as an OnnxRuntimeException: with the token set,
            // any exception is the stop we asked for.
            outcome.Stopped = true;
        }
        catch (Exception ex) when (ex is not (RedisException or RedisTimeoutException))
        {
            outcome.Failure = ex;
            Log.InferenceFailed(logger, ex, job.JobId);
        }

        outcome.ExecutionMs = clock == 0 ? 0 : Stopwatch.GetElapsedTime(clock).TotalMilliseconds;
        return outcome;
    }

    /// <summary>Best effort: a progress event lost to a Redis hiccup must not re-run the job.</summary>
    /// <remarks>Fenced: another run took the job over, and this one stops.</remarks>
    private async Task ReportProgressAsync(string jobId, RunLease? lease, int done, int total)
    {
        try
        {
            var result = await store.AppendAsync(jobId, JobEventTypes.Progress, $$"""{"done":{{done}},"total":{{total}}}""", [], lease?.Token);
            if (result.Outcome == AppendOutcome.Fenced)
            {
                lease!.Fence();
            }
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            Log.ProgressLost(logger, ex, jobId, done);
        }
    }
}
