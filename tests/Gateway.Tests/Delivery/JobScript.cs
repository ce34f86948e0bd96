using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;

namespace InferenceGateway.Tests.Delivery;

/// <summary>Moves a job along its log the way the worker does, one event at a time, when the test says so.</summary>
internal sealed class JobScript(RedisJobStore store, string jobId)
{
    private int _progress;

    public string JobId => jobId;

    public Task StartedAsync() =>
        AppendAsync(JobEventTypes.Started, "{\"coldStart\":false}", [new(JobFields.Status, JobStatuses.Running)]);

    /// <summary>Appends <paramref name="count"/> progress events.</summary>
    public async Task ProgressAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _progress++;
            await AppendAsync(JobEventTypes.Progress, $"{{\"done\":{_progress},\"total\":1000}}", []);
        }
    }

    public Task CompletedAsync() =>
        AppendAsync(JobEventTypes.Completed, "{\"result\":{\"model\":\"all-minilm-l6-v2\",\"dimensions\":384,\"embeddings\":[]}}", [new(JobFields.Status, JobStatuses.Completed)]);

    public Task FailedAsync(string code, string message) =>
        store.FailAsync(jobId, new JobError(code, message));

    /// <summary>The whole log, as the source of truth every subscriber is compared with.</summary>
    public async Task<IReadOnlyList<JobEvent>> LogAsync() => await store.ReadEventsAsync(jobId, 0, 10_000);

    private async Task AppendAsync(string type, string data, IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        var result = await store.AppendAsync(jobId, type, data, fields);
        Assert.That(result.Outcome, Is.EqualTo(AppendOutcome.Appended), $"append {type} to {jobId}");
    }
}
