using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// A job message that carries a reference to its input in Redis instead of the input (a claim
/// check, schema version 2), read by the real worker from the real SQS emulator: the stored input is
/// what runs; an input that is gone ends the job <c>failed</c> with <c>input_missing</c> at once,
/// neither retried nor dead-lettered.
/// </summary>
[TestFixture]
public sealed class ClaimCheckWorkerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private QueueStack _stack = null!;
    private WorkerServer _worker = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _stack = await QueueStack.StartAsync("claimcheck", new() { ["Worker:MonitorDeadLetterQueue"] = "false" });
        _worker = await WorkerServer.StartAsync(_stack.Configuration);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _worker.DisposeAsync();
        await _stack.DisposeAsync();
    }

    [Test]
    public async Task ClaimCheckedMessage_RunsTheInputStoredInRedis()
    {
        var job = ClaimChecked(TestStack.UniqueName("t"));
        string[] texts = ["stored <apart>", "from & its", "message"];
        await _worker.Services.GetRequiredService<JobInputs>().StoreAsync(job.JobId, JobMessageJson.SerializeInput(new JobInput { Texts = texts }));

        await DirectJobs.SubmitAsync(_stack.Store, _stack.Sqs, _stack.Urls.Jobs, job);
        var events = await DirectJobs.WaitForAsync(_stack.Store, job.JobId, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "queued", "started", "completed" }), events[^1].Data?.ToString());
        Assert.That(events[^1].Data!.Value.GetProperty("result").GetProperty("embeddings").GetArrayLength(), Is.EqualTo(texts.Length));
    }

    [Test]
    public async Task ClaimCheckedMessage_WhoseStoredInputIsGone_EndsTheJobFailedWithInputMissing_AndIsDeleted()
    {
        var job = ClaimChecked(TestStack.UniqueName("t"));

        await DirectJobs.SubmitAsync(_stack.Store, _stack.Sqs, _stack.Urls.Jobs, job);
        var events = await DirectJobs.WaitForAsync(_stack.Store, job.JobId, Timeout);

        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "queued", "failed" }));
        var record = await _stack.Store.GetAsync(job.JobId);
        Assert.That(record!.Error!.Code, Is.EqualTo("input_missing"));
        Assert.That(record.Error.Message, Does.Contain(JobKeys.Input(job.JobId)).And.Contain("gone"));
        await Eventually.HoldsAsync(
            async () => await TestStack.QueuedCountAsync(_stack.Configuration["Sqs:QueueName"]!) == 0,
            Timeout,
            "the message is deleted, not left for another delivery");
        Assert.That(await TestStack.QueuedCountAsync(_stack.Configuration["Sqs:DeadLetterQueueName"]!), Is.EqualTo(0), "not dead-lettered");
    }

    /// <summary>A job whose message names its input key (schema version 2) and carries no input.</summary>
    private static JobMessage ClaimChecked(string tenant)
    {
        var job = DirectJobs.Message(tenant, []);
        return job with { SchemaVersion = JobMessage.ClaimCheckSchemaVersion, Input = new JobInput(), InputRef = JobKeys.Input(job.JobId) };
    }
}
