// `-- writer`: how many items one job's stream writer (the worker's JobStreamWriter) takes into the
// job's real log in Redis, and in how many events: from a producer that never waits, and from one
// paced at about an item a millisecond, as a fast token generator would produce them. Runs against
// the test harness's redis-server in this process. (Formerly an [Explicit] test that asserted nothing.)
using System.Diagnostics;
using System.Globalization;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Worker.Streaming;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace InferenceGateway.LoadTest;

internal static class WriterThroughput
{
    public static async Task RunAsync(string[] args)
    {
        var tokens = Arg(args, "--tokens", 100_000);
        var chunks = Arg(args, "--chunks", 5_000);
        var paced = Arg(args, "--paced", 2_000);
        await TestStack.StartAsync();
        try
        {
            var store = new RedisJobStore(TestStack.Multiplexer, Options.Create(new JobStoreOptions()), TimeProvider.System);
            Console.WriteLine("| items | producer | count | produced ms | all in Redis ms | items/s | events | appends/s |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
            foreach (var (label, count, produce) in new (string, int, Action<JobStreamWriter, int>)[]
            {
                ("token (8 chars)", tokens, (w, i) => w.WriteToken("token-" + (i % 100).ToString("00", CultureInfo.InvariantCulture))),
                ("chunk (1 x 384 floats)", chunks, (w, i) => w.WriteChunk(i, [new float[384]], chunks)),
            })
            {
                await MeasureAsync(store, label, "flat out", count, produce, pace: false);
                await MeasureAsync(store, label, "paced ~1/ms", paced, produce, pace: true);
            }
        }
        finally
        {
            await TestStack.StopAsync();
        }
    }

    private static async Task MeasureAsync(RedisJobStore store, string label, string producer, int count, Action<JobStreamWriter, int> produce, bool pace)
    {
        var jobId = $"job_{Guid.NewGuid():N}";
        await store.CreateAsync(jobId, "bench", "all-minilm-l6-v2", DateTimeOffset.UtcNow);
        await using var writer = new JobStreamWriter(jobId, 1, new RedisJobEventLog(store), new StreamingOptions(), TimeProvider.System, NullLogger.Instance);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            produce(writer, i);
            if (pace && i % 10 == 9)
            {
                await Task.Delay(10);
            }
        }

        var produced = clock.Elapsed;
        await writer.CompleteAsync().WaitAsync(TimeSpan.FromMinutes(2));
        var total = clock.Elapsed;
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {label} | {producer} | {count} | {produced.TotalMilliseconds:F0} | {total.TotalMilliseconds:F0} | {count / total.TotalSeconds:F0} | {writer.AppendedEvents} | {writer.AppendedEvents / total.TotalSeconds:F0} |"));
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
