using Microsoft.Extensions.Options;

namespace InferenceGateway.Worker.Streaming;

/// <summary>Makes a <see cref="JobStreamWriter"/> for each streaming job run.</summary>
public sealed class JobStreams(IJobEventLog log, IOptions<StreamingOptions> options, TimeProvider time, ILogger<JobStreamWriter> logger)
{
    public StreamingOptions Options { get; } = options.Value;

    /// <summary>A writer for <paramref name="jobId"/>'s run whose last event so far is <paramref name="afterSeq"/> (its <c>started</c>).</summary>
    public JobStreamWriter Open(string jobId, long afterSeq) => new(jobId, afterSeq, log, Options, time, logger);
}
