using InferenceGateway.Contracts;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// The worker's one concurrency cap, the event source's slots, against the real emulator and
/// Redis: no more than <c>Worker:MaxConcurrency</c> jobs run at once, whatever a receive brings.
/// </summary>
[TestFixture]
public sealed class WorkerConcurrencyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Test]
    public async Task ABacklogLargerThanTheCap_NeverRunsMoreThanMaxConcurrencyJobsAtOnce()
    {
        const int maxConcurrency = 2;
        await using var stack = await QueueStack.StartAsync("cap", new()
        {
            ["Worker:MaxConcurrency"] = maxConcurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:MaxMessages"] = "10",
            ["Worker:WaitTimeSeconds"] = "1",
        });
        var (configuration, store, urls, sqs) = stack;
        var tenant = TestStack.UniqueName("t");
        // A backlog that one receive of ten would bring whole; each job long enough to overlap the others.
        var jobs = Enumerable.Range(0, 6).Select(_ => DirectJobs.Message(tenant, DirectJobs.LongTexts(8))).ToList();
        foreach (var job in jobs)
        {
            await DirectJobs.SubmitAsync(store, sqs, urls.Jobs, job);
        }

        await using var worker = await WorkerServer.StartAsync(configuration);
        // Each job runs from its started event to its terminal one, both stamped by the worker's clock.
        var edges = new List<(DateTimeOffset At, int Change)>();
        foreach (var job in jobs)
        {
            var events = await DirectJobs.WaitForAsync(store, job.JobId, Timeout);
            Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
            Assert.That(events.Count(e => e.Type == JobEventTypes.Started), Is.EqualTo(1), "each job ran once");
            edges.Add((events.Single(e => e.Type == JobEventTypes.Started).At, +1));
            edges.Add((events[^1].At, -1));
        }

        // Ends before starts at the same instant: a slot is freed only after the job's end is recorded.
        var running = 0;
        var most = 0;
        foreach (var (_, change) in edges.OrderBy(e => e.At).ThenBy(e => e.Change))
        {
            running += change;
            most = Math.Max(most, running);
        }

        Assert.That(most, Is.LessThanOrEqualTo(maxConcurrency), "jobs running at once");
    }
}
