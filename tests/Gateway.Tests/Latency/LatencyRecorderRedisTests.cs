using InferenceGateway.Core.Latency;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Latency;

/// <summary>
/// Recorders flushing to real Redis: two of them (two processes of one fleet) add to the same
/// histograms; a flush that cannot reach Redis keeps its counts for the next. Each test has its own
/// key prefix; time is a fake clock, so windows are chosen, not waited for.
/// </summary>
[TestFixture]
public sealed class LatencyRecorderRedisTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset Noon = new(2026, 11, 28, 12, 0, 30, TimeSpan.Zero);

    private static double Bound(int index) => 0.05 * Math.Pow(2, index / 4.0);

    private static LatencyOptions NewOptions(string prefix, int maxSeries = 2000) => new() { KeyPrefix = prefix, MaxSeries = maxSeries };

    private static LatencyRecorder Recorder(IConnectionMultiplexer redis, LatencyOptions options, TimeProvider time) =>
        new(redis, Options.Create(options), time, NullLogger<LatencyRecorder>.Instance);

    [Test]
    public async Task TwoRecorders_FlushToTheSameWindow_AndTheReaderMergesThem()
    {
        var options = NewOptions(TestStack.UniqueName("lat"));
        var time = new FakeTimeProvider(Noon);
        using var a = Recorder(TestStack.Multiplexer, options, time);
        using var b = Recorder(TestStack.Multiplexer, options, time);
        a.Record("execution:m", 1.0);
        a.Record("execution:m", 1.0);
        a.Record("execution:m", 1.0);
        a.Record("execution:m", 100.0);
        b.Record("execution:m", 1.0);
        for (var i = 0; i < 5; i++)
        {
            b.Record("execution:m", TimeSpan.FromMilliseconds(100));
        }

        b.Record("queue:m", 7.0);

        Assert.That(await a.FlushAsync().WaitAsync(Timeout), Is.True);
        Assert.That(await b.FlushAsync().WaitAsync(Timeout), Is.True);
        var reader = new LatencyReader(TestStack.Multiplexer, Options.Create(options));
        var series = await reader.ListSeriesAsync(Noon.AddMinutes(-15)).WaitAsync(Timeout);
        var read = await reader.ReadAsync(series, Noon.AddMinutes(-15), Noon).WaitAsync(Timeout);

        Assert.That(series, Is.EqualTo(new[] { "execution:m", "queue:m" }));
        var execution = read["execution:m"];
        Assert.That(execution.Count, Is.EqualTo(10));
        Assert.That(execution[18], Is.EqualTo(4), "1 ms: 3 from one process, 1 from the other");
        Assert.That(execution[44], Is.EqualTo(6), "100 ms: 1 + 5");
        Assert.That(execution.Percentile(0.4), Is.EqualTo(Bound(18)).Within(1e-9));
        Assert.That(execution.Percentile(0.5), Is.EqualTo(102.4).Within(1e-9));
        Assert.That(read["queue:m"].Count, Is.EqualTo(1));
        Assert.That(a.Flushes + b.Flushes, Is.EqualTo(2));
        Assert.That(a.FlushFailures + b.FlushFailures, Is.Zero);
    }

    [Test]
    public async Task Flush_StoresPerMinuteWindowsWithATimeToLive_AndAReadCoversOnlyItsWindows()
    {
        var options = NewOptions(TestStack.UniqueName("lat"));
        var time = new FakeTimeProvider(Noon);
        using var recorder = Recorder(TestStack.Multiplexer, options, time);
        var reader = new LatencyReader(TestStack.Multiplexer, Options.Create(options));
        recorder.Record("route:GET /x", 1.0);
        await recorder.FlushAsync().WaitAsync(Timeout);
        time.Advance(TimeSpan.FromMinutes(1));
        recorder.Record("route:GET /x", 100.0);
        recorder.Record("route:GET /x", 100.0);
        await recorder.FlushAsync().WaitAsync(Timeout);

        var first = await reader.ReadAsync(["route:GET /x"], Noon, Noon).WaitAsync(Timeout);
        var second = await reader.ReadAsync(["route:GET /x"], Noon.AddMinutes(1), Noon.AddMinutes(1)).WaitAsync(Timeout);
        var both = await reader.ReadAsync(["route:GET /x"], Noon, Noon.AddMinutes(1)).WaitAsync(Timeout);
        var ttl = await TestStack.Multiplexer.GetDatabase().KeyTimeToLiveAsync(LatencyKeys.Histogram(options.KeyPrefix, "route:GET /x", new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero)));

        Assert.That(first["route:GET /x"].Count, Is.EqualTo(1));
        Assert.That(second["route:GET /x"].Count, Is.EqualTo(2));
        Assert.That(both["route:GET /x"].Count, Is.EqualTo(3));
        Assert.That(ttl, Is.Not.Null.And.GreaterThan(TimeSpan.FromMinutes(55)).And.LessThanOrEqualTo(TimeSpan.FromMinutes(61)));
    }

    [Test]
    public async Task Recorder_BoundsItsSeries_AndRefusesBadSamples_CountingWhatItDrops()
    {
        var options = NewOptions(TestStack.UniqueName("lat"), maxSeries: 2);
        using var recorder = Recorder(TestStack.Multiplexer, options, new FakeTimeProvider(Noon));

        recorder.Record("a", 1);
        recorder.Record("b", 1);
        recorder.Record("c", 1);
        recorder.Record("a", double.NaN);
        recorder.Record("a", -1);
        recorder.Record(new string('x', 201), 1);
        recorder.Record("a", 2);
        await recorder.FlushAsync().WaitAsync(Timeout);

        Assert.That(recorder.SeriesCount, Is.EqualTo(2));
        Assert.That(recorder.DroppedSamples, Is.EqualTo(4));
        var reader = new LatencyReader(TestStack.Multiplexer, Options.Create(options));
        Assert.That(await reader.ListSeriesAsync(Noon.AddMinutes(-1)), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public async Task Flush_WhileRedisIsDown_FailsWithoutThrowing_AndTheCountsLandWithTheNextFlushAfterItReturns()
    {
        var port = ExternalProcess.FreePort();
        var redis = await TestStack.StartRedisAsync(port);
        var config = ConfigurationOptions.Parse($"127.0.0.1:{port},connectTimeout=500,asyncTimeout=1000");
        config.AbortOnConnectFail = false;
        config.BacklogPolicy = BacklogPolicy.FailFast;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(config);
        var options = NewOptions(TestStack.UniqueName("lat"));
        using var recorder = Recorder(connection, options, new FakeTimeProvider(Noon));
        recorder.Record("execution:m", 5);
        await redis.DisposeAsync();
        recorder.Record("execution:m", 5);

        var flushed = await recorder.FlushAsync().WaitAsync(Timeout);

        Assert.That(flushed, Is.False);
        Assert.That(recorder.FlushFailures, Is.EqualTo(1));

        await using var restarted = await TestStack.StartRedisAsync(port);
        await Eventually.HoldsAsync(() => recorder.FlushAsync(), Timeout, "a flush succeeds once Redis is back");
        var reader = new LatencyReader(connection, Options.Create(options));
        var read = await reader.ReadAsync(["execution:m"], Noon, Noon).WaitAsync(Timeout);
        Assert.That(read["execution:m"].Count, Is.EqualTo(2), "both samples, once each");
    }
}
