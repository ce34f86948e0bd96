using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// Key hygiene of the queue's outbox and queued index (<see cref="JobKeys.Unsent"/>,
/// <see cref="JobKeys.Queued"/>) against the real Redis: the script that creates a record with its
/// message puts the job in both; the send takes it out of the outbox; the start and every end take it
/// out of both and drop the stored message, in the same script; the start raises the watermark.
/// </summary>
[TestFixture]
public sealed class QueueIndexScriptTests
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private RedisJobStore _store = null!;
    private IDatabase _redis = null!;
    private string _queue = null!;

    [SetUp]
    public void Create()
    {
        _store = new RedisJobStore(TestStack.Multiplexer, Options.Create(new JobStoreOptions()), TimeProvider.System);
        _redis = TestStack.Multiplexer.GetDatabase();
        _queue = TestStack.UniqueName("index");
    }

    [Test]
    public async Task Create_WithItsMessage_PutsTheJobInTheOutboxAndTheQueuedIndex_ScoredByCreatedAt_AndTheSendTakesItOutOfTheOutbox()
    {
        var createdAt = DateTimeOffset.UtcNow;
        var jobId = await CreateAsync(createdAt);

        var unsent = await _redis.SortedSetScoreAsync(JobKeys.Unsent(_queue), jobId);
        var queued = await _redis.SortedSetScoreAsync(JobKeys.Queued(_queue), jobId);
        var kept = await _redis.HashGetAsync(JobKeys.Record(jobId), [JobFields.Message, JobFields.TraceParent]);
        Assert.Multiple(() =>
        {
            Assert.That(unsent, Is.EqualTo(createdAt.ToUnixTimeMilliseconds()));
            Assert.That(queued, Is.EqualTo(createdAt.ToUnixTimeMilliseconds()));
            Assert.That(kept.Select(v => (string?)v), Is.EqualTo(new[] { BodyOf(jobId), TraceParent }));
        });

        _store.MarkSent(_queue, jobId);

        await Eventually.HoldsAsync(async () => await _redis.SortedSetScoreAsync(JobKeys.Unsent(_queue), jobId) is null, TimeSpan.FromSeconds(10), "out of the outbox");
        Assert.That(await _redis.SortedSetScoreAsync(JobKeys.Queued(_queue), jobId), Is.Not.Null, "still waiting to start");
    }

    [Test]
    public async Task Start_TakesTheJobOutOfBothSets_DropsItsMessage_AndRaisesTheWatermarkOnly()
    {
        var earlier = DateTimeOffset.UtcNow.AddMinutes(-5);
        var later = DateTimeOffset.UtcNow;
        var first = await CreateAsync(later);
        var second = await CreateAsync(earlier);

        await StartAsync(first);
        await StartAsync(second);

        await AssertGoneAsync(first);
        await AssertGoneAsync(second);
        Assert.That((long)await _redis.StringGetAsync(JobKeys.StartedWatermark(_queue)), Is.EqualTo(later.ToUnixTimeMilliseconds()), "an older job's start does not lower it");
    }

    [TestCase(JobEventTypes.Completed)]
    [TestCase(JobEventTypes.Failed)]
    [TestCase(JobEventTypes.TimedOut)]
    [TestCase(JobEventTypes.Cancelled)]
    public async Task TerminalAppend_OfARunningJob_LeavesNothingBehind(string type)
    {
        var jobId = await CreateAsync(DateTimeOffset.UtcNow);
        await StartAsync(jobId);
        await _store.AppendTerminalAsync(jobId, type, "{}", [new(JobFields.Status, type)], new Invocation("tenant", "all-minilm-l6-v2", 1, 0, 1, false, 1));

        await AssertGoneAsync(jobId);
    }

    [Test]
    public async Task EndsOfAJobThatNeverStarted_TakeItOutOfBothSets()
    {
        var cancelled = await CreateAsync(DateTimeOffset.UtcNow);
        var failed = await CreateAsync(DateTimeOffset.UtcNow);
        var expired = await CreateAsync(DateTimeOffset.UtcNow);

        Assert.That(await _store.CancelAsync(cancelled), Is.EqualTo(CancelOutcome.Cancelled));
        await _store.FailAsync(failed, new JobError("enqueue_failed", "The job could not be put on the queue."));
        await _store.AppendUnbilledTerminalAsync(expired, JobEventTypes.Expired, "{}", [new(JobFields.Status, JobStatuses.Expired)], "tenant");

        await AssertGoneAsync(cancelled);
        await AssertGoneAsync(failed);
        await AssertGoneAsync(expired);
        Assert.That(await _redis.KeyExistsAsync(JobKeys.StartedWatermark(_queue)), Is.False, "only a start moves the watermark");
    }

    [Test]
    public async Task Create_WithoutAMessage_AsARebuildDoes_TouchesNoSet()
    {
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        await _store.CreateAsync(jobId, "tenant", "all-minilm-l6-v2", DateTimeOffset.UtcNow);
        await StartAsync(jobId);

        Assert.That(await _redis.KeyExistsAsync(JobKeys.Unsent(_queue)), Is.False);
        Assert.That((string?)await _redis.HashGetAsync(JobKeys.Record(jobId), JobFields.Status), Is.EqualTo(JobStatuses.Running));
    }

    private async Task<string> CreateAsync(DateTimeOffset createdAt)
    {
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        var created = await _store.CreateAsync(jobId, "tenant", "all-minilm-l6-v2", createdAt, message: new OutboxMessage(_queue, BodyOf(jobId), TraceParent));
        Assert.That(created.Outcome, Is.EqualTo(AppendOutcome.Appended));
        return jobId;
    }

    private static string BodyOf(string jobId) => $$"""{"schemaVersion":1,"jobId":"{{jobId}}"}""";

    private Task<AppendResult> StartAsync(string jobId) =>
        _store.AppendAsync(jobId, JobEventTypes.Started, """{"attempt":1}""", [new(JobFields.Status, JobStatuses.Running)]);

    private async Task AssertGoneAsync(string jobId)
    {
        var unsent = await _redis.SortedSetScoreAsync(JobKeys.Unsent(_queue), jobId);
        var queued = await _redis.SortedSetScoreAsync(JobKeys.Queued(_queue), jobId);
        var kept = await _redis.HashGetAsync(JobKeys.Record(jobId), [JobFields.Message, JobFields.TraceParent]);
        Assert.Multiple(() =>
        {
            Assert.That(unsent, Is.Null, $"{jobId} out of the outbox");
            Assert.That(queued, Is.Null, $"{jobId} out of the queued index");
            Assert.That(kept.All(v => v.IsNull), Is.True, $"{jobId}'s stored message dropped");
        });
    }
}
