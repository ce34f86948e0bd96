using Microsoft.Extensions.Options;

namespace InferenceGateway.Worker.Streaming;

/// <summary>Makes a <see cref="JobStreamWriter"/> for each streaming job run.</summary>
public sealed class JobStreams(IJobEventLog log, IOptions<StreamingOptions> options, TimeProvider time, ILogger<JobStreamWriter> logger)
{
    public StreamingOptions Options { get; } = options.Value;

    /// <summary>
    /// A writer for <paramref name="jobId"/>'s run whose last event so far is <paramref name="afterSeq"/>
    /// (its <c>started</c>), its appends fenced by <paramref name="runToken"/>; <paramref name="onFenced"/>
    /// is called when one is refused because another run took the job over.
    /// </summary>
    public JobStreamWriter Open(string jobId, long afterSeq, string? runToken = null, Action? onFenced = null) =>
        new(jobId, afterSeq, log, Options, time, logger, runToken, onFenced);
}
