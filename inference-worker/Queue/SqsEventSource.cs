using System.Collections.Concurrent;
using Amazon.SQS.Model;
using InferenceGateway.Core.Queue;
using InferenceGateway.Worker.Jobs;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace InferenceGateway.Worker.Queue;

/// <summary>
/// The event source, as Lambda's SQS trigger drives a function: long-polls the jobs queue in
/// batches of up to <see cref="WorkerOptions.MaxMessages"/>, never holds more than
/// <see cref="WorkerOptions.MaxConcurrency"/> messages and never receives while saturated (nor for
/// fewer than a whole receive's worth when sized for batching: <see cref="ReceiveSlots"/>), hands
/// each message to the <see cref="JobMessageHandler"/> (which runs its job through MassTransit's
/// Mediator and deletes it, gives it back or dead-letters it), and extends the visibility of every
/// message in hand while its job runs (one <see cref="VisibilityHeartbeats"/> schedule). Deletes and releases of concurrent jobs go out together in
/// batch calls (<see cref="ReceiptBatchCoalescer"/>: a lone one at once). Each message is handled
/// on its own, so one bad message never fails or delays the others. On shutdown it stops
/// receiving, lets running jobs finish for <see cref="WorkerOptions.ShutdownGraceSeconds"/>, then
/// stops them and releases their messages at once.
/// </summary>
public sealed class SqsEventSource(
    JobQueue queue,
    JobMessageHandler handler,
    JobTally tally,
    WorkerLifetime lifetime,
    IOptions<WorkerOptions> options,
    IOptions<SqsOptions> sqsOptions,
    TimeProvider time,
    ILogger<SqsEventSource> logger) : BackgroundService
{
    private readonly WorkerOptions _options = options.Value;
    private readonly int _visibilitySeconds = sqsOptions.Value.VisibilityTimeoutSeconds;
    private readonly ConcurrentDictionary<Task, byte> _inFlight = new();
    private VisibilityHeartbeats? _heartbeats;

    /// <summary>The receive's retry: every failure but the stop's own, exponential from 200 ms to 10 s, no limit.</summary>
    internal static ResiliencePipeline ReceiveRetry(TimeProvider time, ILogger logger) =>
        new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null && !args.Context.CancellationToken.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(10),
                UseJitter = false,
                OnRetry = args =>
                {
                    Log.ReceiveFailed(logger, args.Outcome.Exception!, args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

    /// <summary>Messages being handled now.</summary>
    public int InFlight => _inFlight.Count;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new ReceiveSlots(_options.MaxConcurrency, _options.MaxMessages);
        // A failed receive (or queue lookup) is retried until the worker stops: 200 ms doubled per
        // failure, at most 10 s, back to 200 ms after a success.
        var receiveRetry = ReceiveRetry(time, logger);
        QueueUrls? urls = null;
        Task<List<Message>>? pending = null;
        using var stopHeartbeats = new CancellationTokenSource();
        var heartbeating = Task.CompletedTask;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var free = 0;
                var messages = await receiveRetry.ExecuteAsync(
                    async token =>
                    {
                        free = await slots.TakeAsync(token);
                        try
                        {
                            if (urls is null)
                            {
                                urls = await queue.GetUrlsAsync(token);
                                _heartbeats = new VisibilityHeartbeats(queue.Client, urls.Jobs, _visibilitySeconds, _options.HeartbeatFraction, time, logger);
                                heartbeating = _heartbeats.RunAsync(stopHeartbeats.Token);
                                Log.Polling(logger, urls.Jobs, _options.MaxMessages, _options.MaxConcurrency);
                            }

                            // A long poll is never cut off client-side: SQS would still hand the next
                            // message to the abandoned poll and hide it for a whole visibility timeout.
                            // On stop we wait for it to return and release what it brought.
                            pending = ReceiveAsync(urls, free, token);
                            var received = await pending.WaitAsync(token);
                            pending = null;
                            return received;
                        }
                        catch (Exception) when (!token.IsCancellationRequested)
                        {
                            // Retried by receiveRetry after its backoff, with slots taken again.
                            pending = null;
                            slots.Release(free);
                            throw;
                        }
                    },
                    stoppingToken);

                if (free > messages.Count)
                {
                    slots.Release(free - messages.Count);
                }

                // urls is set: a receive succeeded (the null analysis does not follow the retry's callback).
                foreach (var message in messages)
                {
                    Track(HandleAsync(message, urls!, _heartbeats!, slots));
                }
            }
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stop receiving; what is in hand is finished or released below.
        }

        // Running jobs keep their messages invisible while they finish.
        await Task.WhenAll(DrainAsync(), ReleaseLateAsync(pending, urls));
        await stopHeartbeats.CancelAsync();
        await heartbeating;
    }

    /// <summary>Gives back at once whatever a long poll still open at shutdown returns.</summary>
    private async Task ReleaseLateAsync(Task<List<Message>>? pending, QueueUrls? urls)
    {
        if (pending is null || urls is null)
        {
            return;
        }

        List<Message> late;
        try
        {
            late = await pending;
        }
        catch (Exception)
        {
            return;
        }

        await Task.WhenAll(late.Select(async message =>
        {
            try
            {
                await handler.ChangeVisibilityAsync(message, urls, 0);
                Log.Released(logger, message.MessageId, "-", 0, "received as the worker stopped");
            }
            catch (Exception ex)
            {
                Log.ProcessingFailed(logger, ex, message.MessageId);
            }
        }));
    }

    private async Task<List<Message>> ReceiveAsync(QueueUrls urls, int free, CancellationToken stoppingToken)
    {
        var messages = await ReceiveOnceAsync(urls, free, _options.WaitTimeSeconds, CancellationToken.None);
        if (_options.BatchWindowMs == 0 || messages.Count == 0 || messages.Count >= free)
        {
            return messages;
        }

        // Lambda's batching window: keep gathering what arrives for a moment before dispatching.
        var deadline = time.GetTimestamp() + (long)(_options.BatchWindowMs / 1000.0 * time.TimestampFrequency);
        while (messages.Count < free && time.GetTimestamp() < deadline && !stoppingToken.IsCancellationRequested)
        {
            List<Message> more;
            try
            {
                more = await ReceiveOnceAsync(urls, free - messages.Count, 0, CancellationToken.None);
            }
            catch (Exception ex)
            {
                // Keep what is in hand; the next loop receives again.
                Log.ReceiveFailed(logger, ex, 0);
                break;
            }

            if (more.Count == 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(20, _options.BatchWindowMs)), time, CancellationToken.None);
            }

            messages.AddRange(more);
        }

        return messages;
    }

    private async Task<List<Message>> ReceiveOnceAsync(QueueUrls urls, int max, int waitSeconds, CancellationToken cancellationToken)
    {
        var response = await queue.Client.ReceiveMessageAsync(
            new ReceiveMessageRequest
            {
                QueueUrl = urls.Jobs,
                MaxNumberOfMessages = max,
                WaitTimeSeconds = waitSeconds,
                VisibilityTimeout = _visibilitySeconds,
                MessageSystemAttributeNames = ["ApproximateReceiveCount", "SentTimestamp"],
                MessageAttributeNames = ["All"],
            },
            cancellationToken);
        var messages = response.Messages ?? [];
        tally.Received(messages.Count);
        return messages;
    }

    private void Track(Task task)
    {
        _inFlight.TryAdd(task, 0);
        _ = task.ContinueWith(t => _inFlight.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task DrainAsync()
    {
        var running = _inFlight.Keys.ToArray();
        if (running.Length == 0)
        {
            return;
        }

        Log.Draining(logger, running.Length, _options.ShutdownGraceSeconds);
        var all = Task.WhenAll(running);
        try
        {
            await all.WaitAsync(TimeSpan.FromSeconds(_options.ShutdownGraceSeconds), time);
            return;
        }
        catch (TimeoutException)
        {
            Log.Aborting(logger, _inFlight.Count);
        }

        lifetime.Abort();
        await all;
    }

    private async Task HandleAsync(Message message, QueueUrls urls, VisibilityHeartbeats heartbeats, ReceiveSlots slots)
    {
        try
        {
            await handler.HandleAsync(message, urls, heartbeats);
        }
        finally
        {
            slots.Release();
        }
    }
}
