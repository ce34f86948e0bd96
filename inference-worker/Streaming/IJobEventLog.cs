using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;

namespace InferenceGateway.Worker.Streaming;

/// <summary>Where a <see cref="JobStreamWriter"/> appends its events: the job's log in Redis, or a fake in tests.</summary>
public interface IJobEventLog
{
    /// <summary>
    /// Appends one non-terminal event to the job's log; with <paramref name="runToken"/>, only while
    /// that run holds the job's lease (else <see cref="AppendOutcome.Fenced"/>).
    /// </summary>
    Task<AppendResult> AppendAsync(string jobId, string? runToken, string type, string dataJson);

    /// <summary>Up to <paramref name="max"/> events after <paramref name="afterSeq"/>, in order.</summary>
    Task<IReadOnlyList<JobEvent>> ReadEventsAsync(string jobId, long afterSeq, int max);
}

/// <summary>The job's event log in Redis, through <see cref="RedisJobStore"/>.</summary>
public sealed class RedisJobEventLog(RedisJobStore store) : IJobEventLog
{
    public Task<AppendResult> AppendAsync(string jobId, string? runToken, string type, string dataJson) => store.AppendAsync(jobId, type, dataJson, [], runToken);

    public Task<IReadOnlyList<JobEvent>> ReadEventsAsync(string jobId, long afterSeq, int max) => store.ReadEventsAsync(jobId, afterSeq, max);
}
