using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;

namespace InferenceGateway.LoadTest;

/// <summary>The two ways load is applied: a closed loop (N callers, each sends when its last answer came) and an open loop (a fixed arrival rate).</summary>
internal static class LoadLoops
{
    public static HttpClient Client(Uri baseAddress, string? key)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary><paramref name="concurrency"/> callers GET <paramref name="path"/> back to back for <paramref name="duration"/>.</summary>
    public static async Task<Result> ClosedLoopAsync(int concurrency, HttpClient client, string path, TimeSpan duration)
    {
        var latencies = new List<double>[concurrency];
        var errors = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var mine = latencies[worker] = new List<double>(100_000);
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync(path);
                await response.Content.ReadAsByteArrayAsync();
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));
        return Result.From([.. latencies.SelectMany(l => l)], clock.Elapsed, errors);
    }

    /// <summary>
    /// An open loop at <paramref name="perSecond"/>: each latency counts from the request's scheduled
    /// time, so a server that falls behind cannot hide its queueing (no coordinated omission).
    /// <c>POST /v1/jobs</c> with one sentence (202 expected), or a GET of <paramref name="getPath"/>
    /// (200 expected) as a baseline of the same loop, client and server. Requests start on a
    /// dedicated thread that sleeps until each one's time on the monotonic clock
    /// (<see cref="Pacing"/>), so the generator's own lateness, which every latency includes, stays
    /// small (a pool timer and a hop to the thread pool made it 1.5 ms at p50 and 4 ms at p99 here);
    /// it is measured and returned as <see cref="Result.LateP99"/>.
    /// </summary>
    public static async Task<Result> OpenLoopAsync(HttpClient client, int perSecond, TimeSpan duration, int offset = 0, string? getPath = null)
    {
        var total = (int)(perSecond * duration.TotalSeconds);
        var latencies = new double[total];
        var late = new double[total];
        var errors = 0;
        var sends = new Task[total];
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = Stopwatch.GetTimestamp();

        async Task SendAsync(int index, long due)
        {
            using var content = getPath is null ? new StringContent($"{{\"model\":\"all-minilm-l6-v2\",\"input\":{{\"texts\":[\"load test sentence {offset + index}\"]}}}}", Encoding.UTF8, "application/json") : null;
            using var response = getPath is null ? await client.PostAsync("/v1/jobs", content) : await client.GetAsync(getPath);
            latencies[index] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
            if ((int)response.StatusCode != (getPath is null ? 202 : 200))
            {
                Interlocked.Increment(ref errors);
            }
        }

        var generator = new Thread(() =>
        {
            try
            {
                for (var i = 0; i < total; i++)
                {
                    var due = start + (long)((double)i * Stopwatch.Frequency / perSecond);
                    Pacing.SleepUntil(due);
                    late[i] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
                    sends[i] = SendAsync(i, due);
                }

                done.SetResult();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = "open-loop",
        };
        generator.Start();
        await done.Task;
        await Task.WhenAll(sends);
        var elapsed = Stopwatch.GetElapsedTime(start);
        Array.Sort(late);
        return Result.From(latencies, elapsed, errors) with { LateP99 = late.Length == 0 ? 0 : late[Math.Min(late.Length - 1, (int)Math.Ceiling(0.99 * late.Length) - 1)] };
    }
}

/// <summary>Sleeping until a moment on <see cref="Stopwatch"/>'s clock, to a fraction of a millisecond where the OS allows.</summary>
internal static partial class Pacing
{
    private const int ClockMonotonic = 1;
    private const int TimerAbsoluteTime = 1;

    /// <summary>
    /// Returns at <paramref name="timestamp"/> (a <see cref="Stopwatch.GetTimestamp"/> value) or
    /// soon after: on Linux, where that clock is <c>CLOCK_MONOTONIC</c> in nanoseconds, one
    /// <c>clock_nanosleep</c> to that absolute time (no spinning); elsewhere, or should that call
    /// fail, whole-millisecond sleeps and then yields until the moment (never early).
    /// </summary>
    public static void SleepUntil(long timestamp)
    {
        if (_precise && OperatingSystem.IsLinux() && Stopwatch.Frequency == 1_000_000_000)
        {
            var until = new TimeSpec { Seconds = (nint)(timestamp / 1_000_000_000), Nanoseconds = (nint)(timestamp % 1_000_000_000) };
            try
            {
                int error;
                while ((error = ClockNanosleep(ClockMonotonic, TimerAbsoluteTime, in until, IntPtr.Zero)) == 4)
                {
                    // EINTR: a signal woke it early; sleep on to the same moment.
                }

                if (error == 0)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // No such libc function: the coarse way below from now on.
            }

            _precise = false;
        }

        // To the millisecond, never early: sleep whole milliseconds, then yield to the moment.
        while (Stopwatch.GetTimestamp() < timestamp)
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
            if (wait >= TimeSpan.FromMilliseconds(1))
            {
                Thread.Sleep((int)wait.TotalMilliseconds);
            }
            else
            {
                Thread.Yield();
            }
        }
    }

    private static bool _precise = true;

    [LibraryImport("libc", EntryPoint = "clock_nanosleep")]
    private static partial int ClockNanosleep(int clock, int flags, in TimeSpec request, IntPtr remain);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }
}
