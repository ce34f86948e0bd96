using InferenceGateway.Contracts;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Worker.Queue;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// <c>Worker:MaxConcurrency</c> is enforced by the event source alone (its receive slots; the
/// consumer pipeline has no second limit): with more jobs queued than the cap, the worker never
/// holds more messages than the cap, and does hold that many.
/// </summary>
[TestFixture]
public sealed class WorkerConcurrencyTests
{
    private const int Cap = 2;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Test]
    public async Task MoreJobsThanTheCap_AreHeldAtMostCapAtOnce()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("worker-cap"));
        configuration["Worker:MaxConcurrency"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture);
        configuration["Worker:MonitorDeadLetterQueue"] = "false";
        await using var gateway = await GatewayServer.StartAsync(configuration);
        var key = await gateway.CreateKeyAsync(TestStack.UniqueName("tenant"));

        // Queued before the worker starts, so its first receive could take ten at once.
        var texts = Enumerable.Range(0, 24).Select(i => $"sentence {i} of a job long enough to be caught running").ToArray();
        var jobs = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            jobs.Add(await gateway.SubmitJobAsync(key, texts));
        }

        await using var worker = await WorkerServer.StartAsync(configuration);
        var source = worker.Services.GetServices<IHostedService>().OfType<SqsEventSource>().Single();
        using var done = new CancellationTokenSource();
        var most = 0;
        var sampling = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                most = Math.Max(most, source.InFlight);
                await Task.Delay(1, CancellationToken.None);
            }
        });

        foreach (var job in jobs)
        {
            var events = await gateway.StreamJobAsync(key, job, 0, Timeout);
            Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        }

        await done.CancelAsync();
        await sampling;
        Assert.That(most, Is.EqualTo(Cap), $"held at most {Cap} messages, and that many at some point (seen: {most})");
    }
}
