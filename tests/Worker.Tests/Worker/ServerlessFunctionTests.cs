using System.Text.Json;
using Amazon.SQS;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// The worker as a serverless function against the real SQS emulator and Redis: per-invocation
/// timeouts, cancellation before and during a run, queue TTL, progress, and billing.
/// </summary>
[TestFixture]
public sealed class ServerlessFunctionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private WorkerServer _worker = null!;
    private RedisJobStore _store = null!;
    private AmazonSQSClient _sqs = null!;
    private string _queueUrl = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("function"));
        configuration["Worker:ProgressEveryTexts"] = "32";
        configuration["Worker:WaitTimeSeconds"] = "1";
        configuration["Worker:RunLeaseSeconds"] = "3"; // a copy released while another run holds the job comes back in seconds
        _worker = await WorkerServer.StartAsync(configuration);
        _store = _worker.Services.GetRequiredService<RedisJobStore>();
        _queueUrl = (await _worker.Services.GetRequiredService<JobQueue>().GetUrlsAsync()).Jobs;
        _sqs = TestStack.CreateSqsClient();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _sqs.Dispose();
        await _worker.DisposeAsync();
    }

    [Test]
    public async Task JobOverItsExecutionTimeout_EndsTimedOut_WithTheTimeBilled()
    {
        var tenant = TestStack.UniqueName("t");
        var job = DirectJobs.Message(tenant, DirectJobs.LongTexts(256), executionTimeoutMs: 300);

        await DirectJobs.SubmitAsync(_store, _sqs, _queueUrl, job);
        var events = await DirectJobs.WaitForAsync(_store, job.JobId, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.TimedOut));
        Assert.That(events.Count(e => JobEventTypes.IsTerminal(e.Type)), Is.EqualTo(1));
        var record = await _store.GetAsync(job.JobId);
        Assert.That(record!.Status, Is.EqualTo(JobStatuses.TimedOut));
        Assert.That(record.Error!.Code, Is.EqualTo("timed_out"));
        Assert.That(record.Metrics.BilledMs, Is.GreaterThanOrEqualTo(300), "the time used up to the limit is billed");
        var usage = await _worker.Services.GetRequiredService<UsageReader>().GetAsync(tenant, 1);
        Assert.That(usage.Total.ByStatus[JobStatuses.TimedOut], Is.EqualTo(1));
        await QueueDrainsAsync(TimeSpan.FromSeconds(10), "a timed-out job's message is deleted, not redelivered");
    }

    [Test]
    public async Task JobCancelledWhileQueued_NeverRuns_AndItsMessageIsAcknowledged()
    {
        var job = DirectJobs.Message(TestStack.UniqueName("t"), ["cancel me before I run"]);
        await DirectJobs.CreateAsync(_store, job);

        Assert.That(await _store.CancelAsync(job.JobId), Is.EqualTo(CancelOutcome.Cancelled));
        await DirectJobs.SendAsync(_sqs, _queueUrl, job);

        await QueueDrainsAsync(TimeSpan.FromSeconds(20));
        var events = await _store.ReadEventsAsync(job.JobId, 0, 100);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Cancelled }));
    }

    [Test]
    public async Task JobCancelledWhileRunning_StopsCooperatively_AndEndsCancelledOnce()
    {
        var tenant = TestStack.UniqueName("t");

        // Slices of 32 texts, enough of them for about 8 s of model time on this machine, whatever
        // its speed: the cancel, sent after the first slice, lands long before the last.
        var msPerText = await DirectJobs.MeasureMsPerLongTextAsync(_store, _sqs, _queueUrl, Timeout);
        var texts = DirectJobs.LongTextsFor(TimeSpan.FromSeconds(8), msPerText, slice: 32);
        var job = DirectJobs.Message(tenant, DirectJobs.LongTexts(texts));
        await DirectJobs.SubmitAsync(_store, _sqs, _queueUrl, job);
        await DirectJobs.WaitForAsync(_store, job.JobId, Timeout, JobEventTypes.Progress); // the model is running

        Assert.That(await _store.CancelAsync(job.JobId), Is.EqualTo(CancelOutcome.Requested));
        var events = await DirectJobs.WaitForAsync(_store, job.JobId, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Cancelled));
        Assert.That(events.Count(e => JobEventTypes.IsTerminal(e.Type)), Is.EqualTo(1));
        Assert.That(events.Any(e => e.Type == JobEventTypes.Completed), Is.False);
        Assert.That(events.Count(e => e.Type == JobEventTypes.Progress), Is.LessThan((texts / 32) - 1), "the run stopped before the last slice");
        var record = await _store.GetAsync(job.JobId);
        Assert.That(record!.Status, Is.EqualTo(JobStatuses.Cancelled));
        Assert.That(record.Metrics.BilledMs, Is.GreaterThan(0), "the time the model ran before the cancel is billed");
        await QueueDrainsAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task JobPastItsTimeToLive_IsNotRun_AndEndsExpired()
    {
        var tenant = TestStack.UniqueName("t");
        var job = DirectJobs.Message(tenant, ["too late"], expiresAt: DateTimeOffset.UtcNow.AddSeconds(-1));

        await DirectJobs.SubmitAsync(_store, _sqs, _queueUrl, job);
        var events = await DirectJobs.WaitForAsync(_store, job.JobId, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Expired }));
        var record = await _store.GetAsync(job.JobId);
        Assert.That(record!.Status, Is.EqualTo(JobStatuses.Expired));
        Assert.That(record.Error!.Code, Is.EqualTo("expired"));
        var usage = await _worker.Services.GetRequiredService<UsageReader>().GetAsync(tenant, 1);
        Assert.That(usage.Total.Invocations, Is.Zero, "a job that never ran is not billed");
    }

    [Test]
    public async Task MultiTextJob_RecordsProgressEvents_ThenTheWholeResult()
    {
        var texts = Enumerable.Range(0, 70).Select(i => $"sentence number {i}").ToArray();
        var job = DirectJobs.Message(TestStack.UniqueName("t"), texts);

        await DirectJobs.SubmitAsync(_store, _sqs, _queueUrl, job);
        var events = await DirectJobs.WaitForAsync(_store, job.JobId, Timeout);

        var progress = events.Where(e => e.Type == JobEventTypes.Progress).Select(e => e.Data!.Value.GetProperty("done").GetInt32()).ToList();
        Assert.That(progress, Is.EqualTo(new[] { 32, 64 }));
        Assert.That(events.Where(e => e.Type == JobEventTypes.Progress).All(e => e.Data!.Value.GetProperty("total").GetInt32() == 70));
        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        var record = await _store.GetAsync(job.JobId);
        Assert.That(JsonDocument.Parse(record!.ResultJson!).RootElement.GetProperty("embeddings").GetArrayLength(), Is.EqualTo(70));
    }

    [Test]
    public async Task JobDeliveredTwice_IsBilledOnce()
    {
        var tenant = TestStack.UniqueName("t");
        // Long enough that the second copy arrives while the first still runs: it finds the first
        // run's lease and is released, not run; once the job ended it is acknowledged without
        // running. Both copies are deleted, the job ran and was billed once.
        var job = DirectJobs.Message(tenant, DirectJobs.LongTexts(256));
        await DirectJobs.CreateAsync(_store, job);
        await Task.WhenAll(DirectJobs.SendAsync(_sqs, _queueUrl, job), DirectJobs.SendAsync(_sqs, _queueUrl, job));
        await DirectJobs.WaitForAsync(_store, job.JobId, Timeout);
        await QueueDrainsAsync(TimeSpan.FromSeconds(60), "both copies are deleted");

        var events = await _store.ReadEventsAsync(job.JobId, 0, 1000);
        Assert.That(events.Count(e => e.Type == JobEventTypes.Started), Is.EqualTo(1), "one run: the second copy found its lease");
        Assert.That(events.Count(e => JobEventTypes.IsTerminal(e.Type)), Is.EqualTo(1));
        var record = await _store.GetAsync(job.JobId);
        var usage = await _worker.Services.GetRequiredService<UsageReader>().GetAsync(tenant, 1);
        Assert.That(usage.Total.Invocations, Is.EqualTo(1));
        Assert.That(usage.Total.BilledMs, Is.EqualTo(record!.Metrics.BilledMs));
        Assert.That(usage.Total.ByModel[DirectJobs.Model].BilledMs, Is.EqualTo(record.Metrics.BilledMs));
        Assert.That(usage.Days, Has.Count.EqualTo(1));
        Assert.That(usage.Days[0].Usage.Invocations, Is.EqualTo(1));
    }

    private Task QueueDrainsAsync(TimeSpan within, string why = "the job's message is deleted") =>
        Eventually.HoldsAsync(async () => await TestStack.QueuedCountAsync(QueueName()) == 0, within, why);

    private string QueueName() => _queueUrl[(_queueUrl.LastIndexOf('/') + 1)..];
}
