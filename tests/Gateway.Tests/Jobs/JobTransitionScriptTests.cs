using System.Text;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// The job store's transition script against the real Redis: what a worker needs from each state
/// change comes back from, or is done by, the one script call (the cancel flag with the start; the
/// tenant's active-jobs place with the end).
/// </summary>
[TestFixture]
public sealed class JobTransitionScriptTests
{
    private RedisJobStore _store = null!;
    private ActiveJobs _active = null!;
    private IDatabase _redis = null!;

    [SetUp]
    public void Create()
    {
        var options = Options.Create(new JobStoreOptions());
        _store = new RedisJobStore(TestStack.Multiplexer, options, TimeProvider.System);
        _active = new ActiveJobs(TestStack.Multiplexer, options, TimeProvider.System);
        _redis = TestStack.Multiplexer.GetDatabase();
    }

    [Test]
    public async Task StartedAppend_OfARunningJobWhoseCancelWasRequested_SaysSo()
    {
        var (jobId, _) = await CreateAsync();
        var first = await StartAsync(jobId);
        Assert.That(first.CancelRequested, Is.False);

        // The worker running it died; the client cancels; the redelivery starts it again.
        Assert.That(await _store.CancelAsync(jobId), Is.EqualTo(CancelOutcome.Requested));
        var again = await StartAsync(jobId);

        Assert.That(again.Outcome, Is.EqualTo(AppendOutcome.Appended));
        Assert.That(again.CancelRequested, Is.True);
    }

    [Test]
    public async Task StartedAppend_OfAJobCancelledWhileQueued_IsRefused()
    {
        var (jobId, _) = await CreateAsync();
        Assert.That(await _store.CancelAsync(jobId), Is.EqualTo(CancelOutcome.Cancelled));

        var started = await StartAsync(jobId);

        Assert.That(started.Outcome, Is.EqualTo(AppendOutcome.AlreadyTerminal));
        Assert.That(started.CancelRequested, Is.False);
    }

    [Test]
    public async Task TerminalAppend_GivesBackTheTenantsActivePlace_InTheSameStep()
    {
        var (jobId, tenant) = await CreateAsync();
        var (otherId, _) = await CreateAsync(tenant);
        Assert.That(await _active.TryReserveAsync(tenant, jobId, 0, TimeSpan.FromHours(1)), Is.True);
        Assert.That(await _active.TryReserveAsync(tenant, otherId, 0, TimeSpan.FromHours(1)), Is.True);
        await StartAsync(jobId);

        var ended = await _store.AppendTerminalAsync(jobId, JobEventTypes.Completed, "{}", [new(JobFields.Status, JobStatuses.Completed)], Invocation(tenant));

        Assert.That(ended.Outcome, Is.EqualTo(AppendOutcome.Appended));
        Assert.That(await _active.CountAsync(tenant), Is.EqualTo(1), "this job's place is back, the other job's is not");
        Assert.That((long)await _redis.HashGetAsync(UsageKeys.Total(tenant), UsageKeys.Invocations), Is.EqualTo(1));
    }

    [Test]
    public async Task TerminalAppend_OfAJobAlreadyEnded_StillGivesThePlaceBack_AndBillsNothing()
    {
        var (jobId, tenant) = await CreateAsync();
        await _store.AppendTerminalAsync(jobId, JobEventTypes.Completed, "{}", [new(JobFields.Status, JobStatuses.Completed)], Invocation(tenant));
        Assert.That(await _active.TryReserveAsync(tenant, jobId, 0, TimeSpan.FromHours(1)), Is.True, "a place taken again, as a stale one would be");

        var again = await _store.AppendTerminalAsync(jobId, JobEventTypes.Completed, "{}", [new(JobFields.Status, JobStatuses.Completed)], Invocation(tenant));

        Assert.That(again.Outcome, Is.EqualTo(AppendOutcome.AlreadyTerminal));
        Assert.That(await _active.CountAsync(tenant), Is.Zero);
        Assert.That((long)await _redis.HashGetAsync(UsageKeys.Total(tenant), UsageKeys.Invocations), Is.EqualTo(1), "billed once");
    }

    [Test]
    public async Task UnbilledTerminalAppend_GivesBackThePlace_AndBillsNothing()
    {
        var (jobId, tenant) = await CreateAsync();
        Assert.That(await _active.TryReserveAsync(tenant, jobId, 0, TimeSpan.FromHours(1)), Is.True);

        var expired = await _store.AppendUnbilledTerminalAsync(jobId, JobEventTypes.Expired, """{"error":{}}""", [new(JobFields.Status, JobStatuses.Expired)], tenant);

        Assert.That(expired.Outcome, Is.EqualTo(AppendOutcome.Appended));
        Assert.That(await _active.CountAsync(tenant), Is.Zero);
        Assert.That(await _redis.KeyExistsAsync(UsageKeys.Total(tenant)), Is.False);
        Assert.That((await _store.GetAsync(jobId))!.Status, Is.EqualTo(JobStatuses.Expired));
    }

    [Test]
    public async Task TerminalUtf8Append_StoresTheBytesAsGiven_InTheEventAndTheRecord()
    {
        var (jobId, tenant) = await CreateAsync();
        var data = Encoding.UTF8.GetBytes("""{"result":{"text":"caf\u00e9 \ud83d\ude00"},"metrics":{"billedMs":3}}""");
        var result = data.AsMemory(10, data.Length - 10 - ""","metrics":{"billedMs":3}}""".Length);

        await _store.AppendTerminalUtf8Async(jobId, JobEventTypes.Completed, data, [new(JobFields.Status, JobStatuses.Completed), new(JobFields.Result, result)], Invocation(tenant));

        var record = await _store.GetAsync(jobId);
        Assert.That(record!.ResultJson, Is.EqualTo("""{"text":"caf\u00e9 \ud83d\ude00"}"""));
        var events = await _store.ReadEventsAsync(jobId, 0, 10);
        Assert.That(events[^1].Data!.Value.GetProperty("result").GetProperty("text").GetString(), Is.EqualTo("café 😀"));
        Assert.That(events[^1].Data!.Value.GetProperty("metrics").GetProperty("billedMs").GetInt32(), Is.EqualTo(3));
    }

    private async Task<(string JobId, string Tenant)> CreateAsync(string? tenant = null)
    {
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        tenant ??= TestStack.UniqueName("tenant");
        await _store.CreateAsync(jobId, tenant, "all-minilm-l6-v2", DateTimeOffset.UtcNow);
        return (jobId, tenant);
    }

    private Task<AppendResult> StartAsync(string jobId) =>
        _store.AppendAsync(jobId, JobEventTypes.Started, """{"attempt":1}""", [new(JobFields.Status, JobStatuses.Running)]);

    private static Invocation Invocation(string tenant) => new(tenant, "all-minilm-l6-v2", 3, 0, 3, false, 1);
}
