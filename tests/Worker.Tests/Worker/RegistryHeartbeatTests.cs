using InferenceGateway.Core.Models;
using Microsoft.Extensions.Time.Testing;

namespace InferenceGateway.Tests.Worker;

/// <summary>The registry heartbeat that workers and edge gateways share, on a fake clock.</summary>
[TestFixture]
public sealed class RegistryHeartbeatTests
{
    [Test]
    public async Task Run_PublishesAtOnce_ThenEveryTenSeconds_UntilStopped()
    {
        var time = new FakeTimeProvider();
        using var stop = new CancellationTokenSource();
        var beats = 0;
        var run = RegistryHeartbeat.RunAsync(() => { Interlocked.Increment(ref beats); return Task.CompletedTask; }, time, stop.Token);

        Assert.That(Volatile.Read(ref beats), Is.EqualTo(1), "one at once");
        time.Advance(TimeSpan.FromSeconds(9));
        await Task.Yield();
        Assert.That(Volatile.Read(ref beats), Is.EqualTo(1), "none before the interval");
        for (var i = 2; i <= 4; i++)
        {
            time.Advance(TimeSpan.FromSeconds(i == 2 ? 1 : 10));
            await WaitForAsync(() => Volatile.Read(ref beats) == i);
        }

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.That(Volatile.Read(ref beats), Is.EqualTo(4), "nothing after stopping");
    }

    [Test]
    public async Task TryAsync_HandsAFailureToItsHandler_InsteadOfThrowing()
    {
        Exception? seen = null;
        var failure = new InvalidOperationException("redis down");

        await RegistryHeartbeat.TryAsync(() => Task.FromException(failure), ex => seen = ex);

        Assert.That(seen, Is.SameAs(failure));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the heartbeat did not come");
            await Task.Delay(5);
        }
    }
}
