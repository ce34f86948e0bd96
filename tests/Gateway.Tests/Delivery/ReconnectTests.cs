using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Delivery;

/// <summary>
/// Subscribers that drop and come back, on one gateway and across two gateway instances that
/// share Redis (with the SignalR Redis backplane): every event of the job arrives once, in order,
/// ending with the terminal event, whichever instance a client reconnects to. The job moves on
/// through the job store, as the worker moves it, while the clients are away.
/// </summary>
[TestFixture]
public sealed class ReconnectTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private GatewayServer _a = null!;
    private GatewayServer _b = null!;
    private RedisJobStore _store = null!;
    private string _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("reconnect"));
        _a = await GatewayServer.StartAsync(configuration);
        _b = await GatewayServer.StartAsync(configuration);
        _store = _a.Services.GetRequiredService<RedisJobStore>();
        _key = await _a.CreateKeyAsync(TestStack.UniqueName("tenant"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    [Test]
    public async Task Hub_DropsTwiceMidJob_AndResumesWithAfterSeq_ReceivesTheWholeLogOnce()
    {
        var job = await NewJobAsync(_a);
        await job.StartedAsync();
        await job.ProgressAsync(3);
        using var cts = new CancellationTokenSource(Timeout);
        var received = new List<JobEvent>();

        // First connection: three events, then the connection drops.
        await using (var hub = _a.CreateHubConnection(_key))
        {
            await hub.StartAsync(cts.Token);
            await TakeAsync(hub.StreamAsync<JobEvent>("StreamJob", job.JobId, 0L, cts.Token), 3, received, cts.Token);
        }

        await job.ProgressAsync(5);

        // Second: resumes after the last seq it has, takes four, and cancels its stream (the connection stays).
        await using var second = _a.CreateHubConnection(_key);
        await second.StartAsync(cts.Token);
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cts.Token))
        {
            await TakeAsync(second.StreamAsync<JobEvent>("StreamJob", job.JobId, received[^1].Seq, stop.Token), 4, received, cts.Token);
            await stop.CancelAsync();
        }

        await job.ProgressAsync(2);
        await job.CompletedAsync();

        // Third: on the same connection, to the end.
        await foreach (var jobEvent in second.StreamAsync<JobEvent>("StreamJob", job.JobId, received[^1].Seq, cts.Token))
        {
            received.Add(jobEvent);
        }

        Received.IsTheLog(received, await job.LogAsync(), "hub");
    }

    [Test]
    public async Task Sse_DropsTwiceMidJob_AndResumesWithLastEventId_ReceivesTheWholeLogOnce()
    {
        var job = await NewJobAsync(_a);
        await job.StartedAsync();
        using var cts = new CancellationTokenSource(Timeout);
        using var client = _a.CreateClient(_key);
        var received = new List<JobEvent>();

        await using (var sse = await SseStream.OpenAsync(client, job.JobId, null, cts.Token))
        {
            received.Add((await sse.ReadAsync(cts.Token))!);
            received.Add((await sse.ReadAsync(cts.Token))!);
        }

        await job.ProgressAsync(4);
        await using (var sse = await SseStream.OpenAsync(client, job.JobId, received[^1].Seq, cts.Token))
        {
            received.Add((await sse.ReadAsync(cts.Token))!);
            await job.ProgressAsync(1); // arrives live on this connection, which then drops before reading it all
            received.Add((await sse.ReadAsync(cts.Token))!);
        }

        await job.ProgressAsync(3);
        await job.FailedAsync("model_error", "the model ran out of memory");
        await using (var sse = await SseStream.OpenAsync(client, job.JobId, received[^1].Seq, cts.Token))
        {
            received.AddRange(await sse.ReadToEndAsync(cts.Token));
        }

        var log = await job.LogAsync();
        Received.IsTheLog(received, log, "sse");
        Assert.That(received[^1].Type, Is.EqualTo(JobEventTypes.Failed), "the error arrives on the stream as a failed event");
        Assert.That(received[^1].Data!.Value.GetProperty("error").GetProperty("code").GetString(), Is.EqualTo("model_error"));
    }

    [Test]
    public async Task AClientOnInstanceA_FollowsAJobSubmittedThroughInstanceB_AndMovesToBMidJob_MissingNothing()
    {
        var job = await NewJobAsync(_b);
        using var cts = new CancellationTokenSource(Timeout);
        var received = new List<JobEvent>();
        await using var onA = _a.CreateHubConnection(_key);
        await onA.StartAsync(cts.Token);
        using var stopA = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        await using var fromA = onA.StreamAsync<JobEvent>("StreamJob", job.JobId, 0L, stopA.Token).GetAsyncEnumerator(stopA.Token);

        // Live through A while the job moves on.
        Assert.That(await fromA.MoveNextAsync(), Is.True);
        received.Add(fromA.Current);
        await job.StartedAsync();
        Assert.That(await fromA.MoveNextAsync(), Is.True);
        received.Add(fromA.Current);
        await job.ProgressAsync(2);
        Assert.That(await fromA.MoveNextAsync(), Is.True);
        received.Add(fromA.Current);

        // Instance A goes away for this client; B takes over from the last seq it has.
        await stopA.CancelAsync();
        await job.ProgressAsync(3);
        await job.CompletedAsync();
        using var overSse = _b.CreateClient(_key);
        await using var sse = await SseStream.OpenAsync(overSse, job.JobId, received[^1].Seq, cts.Token);
        received.AddRange(await sse.ReadToEndAsync(cts.Token));

        Received.IsTheLog(received, await job.LogAsync(), "A then B");
    }

    private async Task<JobScript> NewJobAsync(GatewayServer through)
    {
        var jobId = await through.SubmitJobAsync(_key, "followed while it runs");
        return new JobScript(_store, jobId);
    }

    private static async Task TakeAsync(IAsyncEnumerable<JobEvent> stream, int count, List<JobEvent> into, CancellationToken cancellationToken)
    {
        await foreach (var jobEvent in stream.WithCancellation(cancellationToken))
        {
            into.Add(jobEvent);
            if (--count == 0)
            {
                return;
            }
        }

        Assert.Fail("the stream ended early");
    }
}
