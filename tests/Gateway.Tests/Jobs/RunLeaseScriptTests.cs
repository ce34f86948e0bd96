using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// The run lease in the job store's scripts against the real Redis: a run's start takes it (on
/// Redis' clock), another run's start is refused while it is live and takes it over once it lapsed,
/// and from then on the first run's appends are fenced (refused, billing nothing); the heartbeat
/// renews it only for its holder and reports a requested cancel.
/// </summary>
[TestFixture]
public sealed class RunLeaseScriptTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    private RedisJobStore _store = null!;
    private IDatabase _redis = null!;

    [SetUp]
    public void Create()
    {
        _store = new RedisJobStore(TestStack.Multiplexer, Options.Create(new JobStoreOptions()), TimeProvider.System);
        _redis = TestStack.Multiplexer.GetDatabase();
    }

    [Test]
    public async Task Start_WhileAnotherRunsLeaseIsLive_IsRefused_WithTheTimeItHasLeft_AndWritesNothing()
    {
        var (jobId, _) = await CreateAsync();
        Assert.That((await StartAsync(jobId, "run-a")).Outcome, Is.EqualTo(AppendOutcome.Appended));

        var refused = await StartAsync(jobId, "run-b");

        Assert.That(refused.Outcome, Is.EqualTo(AppendOutcome.Leased));
        Assert.That(refused.LeaseRemainingMs, Is.InRange(1, (long)Lease.TotalMilliseconds));
        Assert.That((await _store.ReadEventsAsync(jobId, 0, 10)).Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Started }));
        Assert.That((string?)await _redis.HashGetAsync(JobKeys.Record(jobId), JobFields.RunToken), Is.EqualTo("run-a"));
    }

    [Test]
    public async Task Start_AfterTheLeaseLapsed_TakesItOver_AndTheFirstRunsAppendsAreFenced_BillingNothing()
    {
        var (jobId, tenant) = await CreateAsync();
        await StartAsync(jobId, "run-a");
        Assert.That((await _store.AppendAsync(jobId, JobEventTypes.Progress, "{}", [], "run-a")).Outcome, Is.EqualTo(AppendOutcome.Appended), "the holder appends");
        await _redis.HashSetAsync(JobKeys.Record(jobId), JobFields.LeaseUntil, "0"); // run A stopped renewing it

        Assert.That((await StartAsync(jobId, "run-b")).Outcome, Is.EqualTo(AppendOutcome.Appended), "the lapsed lease is taken over");
        var stale = await _store.AppendAsync(jobId, JobEventTypes.Progress, "{}", [], "run-a");
        var staleEnd = await _store.AppendTerminalAsync(jobId, JobEventTypes.Completed, "{}", [new(JobFields.Status, JobStatuses.Completed)], Invocation(tenant), "run-a");
        var end = await _store.AppendTerminalAsync(jobId, JobEventTypes.Completed, "{}", [new(JobFields.Status, JobStatuses.Completed)], Invocation(tenant), "run-b");

        Assert.That((stale.Outcome, staleEnd.Outcome, end.Outcome), Is.EqualTo((AppendOutcome.Fenced, AppendOutcome.Fenced, AppendOutcome.Appended)));
        Assert.That(
            (await _store.ReadEventsAsync(jobId, 0, 10)).Select(e => e.Type),
            Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Started, JobEventTypes.Progress, JobEventTypes.Started, JobEventTypes.Completed }));
        Assert.That((long)await _redis.HashGetAsync(UsageKeys.Total(tenant), UsageKeys.Invocations), Is.EqualTo(1), "billed once, by the holder");
    }

    [Test]
    public async Task AppendsNotMadeByARun_AreNotFenced()
    {
        var (jobId, _) = await CreateAsync();
        await StartAsync(jobId, "run-a");

        var failed = await _store.FailAsync(jobId, new JobError("dead_lettered", "moved to the DLQ"));

        Assert.That(failed.Outcome, Is.EqualTo(AppendOutcome.Appended));
    }

    [Test]
    public async Task Renew_ExtendsTheLeaseForItsHolderOnly_AndReportsACancel()
    {
        var (jobId, _) = await CreateAsync();
        await StartAsync(jobId, "run-a");
        await _redis.HashSetAsync(JobKeys.Record(jobId), JobFields.LeaseUntil, "0");

        Assert.That(await _store.RenewLeaseAsync(jobId, "run-a", Lease), Is.EqualTo(LeaseRenewal.Renewed));
        Assert.That((await StartAsync(jobId, "run-b")).Outcome, Is.EqualTo(AppendOutcome.Leased), "renewed: live again");
        Assert.That(await _store.RenewLeaseAsync(jobId, "run-b", Lease), Is.EqualTo(LeaseRenewal.Fenced));

        Assert.That(await _store.CancelAsync(jobId), Is.EqualTo(CancelOutcome.Requested));
        Assert.That(await _store.RenewLeaseAsync(jobId, "run-a", Lease), Is.EqualTo(LeaseRenewal.CancelRequested));
    }

    private async Task<(string JobId, string Tenant)> CreateAsync()
    {
        var jobId = "job_" + Guid.NewGuid().ToString("N");
        var tenant = TestStack.UniqueName("tenant");
        await _store.CreateAsync(jobId, tenant, "all-minilm-l6-v2", DateTimeOffset.UtcNow);
        return (jobId, tenant);
    }

    private Task<AppendResult> StartAsync(string jobId, string runToken) =>
        _store.StartRunAsync(jobId, runToken, Lease, """{"attempt":1}""", [new(JobFields.Status, JobStatuses.Running)]);

    private static Invocation Invocation(string tenant) => new(tenant, "all-minilm-l6-v2", 3, 0, 3, false, 1);
}
