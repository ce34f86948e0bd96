using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using InferenceGateway.Contracts;

namespace InferenceGateway.FaultSoak;

/// <summary>
/// The soak's load and its injector: jobs of every kind at an even pace over the duration, each with
/// the random choices drawn up front from the seed; faults at random moments after the warm-up, one
/// at a time, each followed by a probe job that says when the stack accepted again and when a job
/// accepted after the fault ended; then a bounded drain.
/// </summary>
internal sealed class SoakRun(SoakOptions options, SoakStack stack, SoakClient client, WebhookReceiver receiver, SoakTenants tenants)
{
    public const string EmbeddingModel = "all-minilm-l6-v2";
    public const string GenerationModel = "tiny-llm";

    private static readonly TimeSpan ProbeBound = TimeSpan.FromSeconds(90);

    private readonly Stopwatch _clock = new();
    private readonly ConcurrentDictionary<string, JobEntry> _jobs = new();
    private readonly ConcurrentBag<SubscriberLog> _subscribers = [];
    private readonly ConcurrentBag<Task> _following = [];
    private readonly ConcurrentQueue<string> _notAccepted = new();
    private readonly List<FaultRecord> _faults = [];
    private readonly List<string> _skipped = [];
    private int _chatDone;
    private int _chatBroken;
    private int _chatWithoutId;
    private int _probes;

    public IReadOnlyCollection<JobEntry> Jobs => [.. _jobs.Values];

    public IReadOnlyCollection<SubscriberLog> SubscriberLogs => [.. _subscribers];

    public IReadOnlyList<FaultRecord> Faults => _faults;

    /// <summary>Fault kinds planned but not applied (they did not fit the run).</summary>
    public IReadOnlyList<string> Skipped => _skipped;

    public IReadOnlyCollection<string> NotAccepted => [.. _notAccepted];

    public (int Done, int Broken, int WithoutId) Chat => (_chatDone, _chatBroken, _chatWithoutId);

    /// <summary>Every RSS reading: time, process, pid, MiB.</summary>
    public List<(TimeSpan At, string Name, int Pid, double MiB)> RssSamples { get; } = [];

    /// <summary>Each process instance's own baseline, by pid: when it was first seen, its highest RSS over the second half of a warm-up's length after that (0: it did not live that long).</summary>
    public Dictionary<int, (TimeSpan FirstSeen, double MiB)> InstanceRss { get; } = [];

    /// <summary>Process RSS (MiB) after the warm-up, by name and pid.</summary>
    public Dictionary<string, (int Pid, double MiB)> WarmRss { get; } = [];

    public TimeSpan Elapsed => _clock.Elapsed;

    public TimeSpan LoadTime { get; private set; }

    public TimeSpan DrainTime { get; private set; }

    /// <summary>Draws every job's random choices from the seed.</summary>
    public static List<JobPlan> PlanJobs(SoakOptions options)
    {
        var random = new Random(options.Seed);
        var plans = new List<JobPlan>(options.Jobs);
        for (var i = 0; i < options.Jobs; i++)
        {
            var r = random.NextDouble();
            var kind = r switch
            {
                < 0.40 => "embedding",
                < 0.50 => "embedding-large",
                < 0.85 => "generation",
                _ => "chat",
            };
            var subscriber = kind != "chat" && random.NextDouble() < 0.4 ? (random.Next(2) == 0 ? "sse" : "hub") : null;
            int[] drops = subscriber is null ? [] : [.. Enumerable.Range(0, random.Next(1, 3)).Select(_ => random.Next(1, 4))];
            plans.Add(new JobPlan(
                i,
                kind,
                Texts: kind == "embedding-large" ? random.Next(64, 160) : random.Next(1, 24),
                Stream: kind.StartsWith("embedding", StringComparison.Ordinal) && random.NextDouble() < 0.3,
                MaxTokens: random.Next(32, kind == "chat" ? 200 : 600),
                Webhook: kind != "chat" && random.NextDouble() < 0.25,
                subscriber,
                drops,
                CancelAfterMs: kind != "chat" && random.NextDouble() < 0.08 ? random.Next(0, 1500) : -1,
                Gateway: random.Next(2)));
        }

        return plans;
    }

    /// <summary>The faults in order, in rounds of every kind once (shuffled), and their moments.</summary>
    public static List<(string Kind, TimeSpan At)> PlanFaults(SoakOptions options)
    {
        var random = new Random(options.Seed ^ 0x5eed);
        var kinds = new List<string>(options.Faults);
        while (kinds.Count < options.Faults)
        {
            kinds.AddRange(options.Kinds.OrderBy(_ => random.Next())); // each round: every kind once, in a new order
        }

        kinds = kinds.Take(options.Faults).ToList();
        var window = options.Duration - options.WarmUp;
        var spacing = window / Math.Max(1, kinds.Count);
        return [.. kinds.Select((kind, i) => (kind, options.WarmUp + (spacing * i) + (spacing * 0.5 * random.NextDouble())))];
    }

    public async Task RunAsync(List<JobPlan> plans, List<(string Kind, TimeSpan At)> faults)
    {
        _clock.Start();
        using var stopFollowing = new CancellationTokenSource();
        using var stopSampling = new CancellationTokenSource();
        var sampling = SampleRssAsync(stopSampling.Token);
        var load = LoadAsync(plans, stopFollowing.Token);
        var injector = InjectAsync(faults);
        await Task.WhenAll(load, injector);
        LoadTime = _clock.Elapsed;

        await DrainAsync();
        DrainTime = _clock.Elapsed - LoadTime;
        await stopFollowing.CancelAsync();
        await Task.WhenAll(_following);
        await stopSampling.CancelAsync();
        await sampling;
    }

    /// <summary>
    /// Reads every gateway's and worker's RSS once a second until the load and faults are done
    /// (kept in <see cref="RssSamples"/>); the baseline is each process's highest reading over the
    /// second half of the warm-up.
    /// </summary>
    private async Task SampleRssAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var at = _clock.Elapsed;
            foreach (var process in stack.Gateways.Concat(stack.Workers))
            {
                var now = Rss.MiB(process.Pid);
                lock (RssSamples)
                {
                    RssSamples.Add((at, process.Name, process.Pid, now));
                }

                if (at >= options.WarmUp / 2 && at <= options.WarmUp
                    && (!WarmRss.TryGetValue(process.Name, out var seen) || seen.Pid != process.Pid || now > seen.MiB))
                {
                    WarmRss[process.Name] = (process.Pid, now);
                }

                // A process started again by a fault gets a baseline of its own, over the same window after its start.
                var instance = InstanceRss.TryGetValue(process.Pid, out var known) ? known : (FirstSeen: at, MiB: 0.0);
                var age = at - instance.FirstSeen;
                if (age >= options.WarmUp / 2 && age <= options.WarmUp && now > instance.MiB)
                {
                    instance.MiB = now;
                }

                InstanceRss[process.Pid] = instance;
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task LoadAsync(List<JobPlan> plans, CancellationToken stopFollowing)
    {
        var interval = options.Duration / Math.Max(1, plans.Count);
        var running = new List<Task>(plans.Count);
        foreach (var plan in plans)
        {
            var due = interval * plan.Index;
            if (due > _clock.Elapsed)
            {
                await Task.Delay(due - _clock.Elapsed, CancellationToken.None);
            }

            running.Add(Task.Run(() => RunJobAsync(plan, stopFollowing), CancellationToken.None));
        }

        await Task.WhenAll(running);
    }

    private async Task RunJobAsync(JobPlan plan, CancellationToken stopFollowing)
    {
        if (plan.Kind == "chat")
        {
            // Read in the background like a subscriber: a stream that never ends (its job stuck) is
            // cut at the end of the drain, not waited for here.
            _following.Add(Task.Run(() => RunChatAsync(plan, stopFollowing), CancellationToken.None));
            return;
        }

        var answered = new ConcurrentBag<string>();
        var (id, failure) = await client.SubmitAsync(tenants.JobsKey, Body(plan), $"soak-{options.Seed}-{plan.Index}", plan.Gateway, answered.Add, CancellationToken.None);
        if (id is null)
        {
            _notAccepted.Enqueue($"job {plan.Index}: {failure}");
            return;
        }

        var job = Track(id, plan, tenants.Jobs, tenants.JobsKey);
        foreach (var other in answered)
        {
            job.AnsweredIds.Add(other);
        }

        if (plan.Subscriber is { } channel)
        {
            var log = new SubscriberLog(id, channel);
            _subscribers.Add(log);
            _following.Add(Task.Run(() => Subscribers.FollowAsync(client, tenants.JobsKey, job, log, stopFollowing), CancellationToken.None));
        }

        if (plan.CancelAfterMs >= 0)
        {
            await Task.Delay(plan.CancelAfterMs, CancellationToken.None);
            job.CancelSent = await client.CancelAsync(tenants.JobsKey, id, plan.Gateway + 1, CancellationToken.None) != 0;
        }
    }

    private async Task RunChatAsync(JobPlan plan, CancellationToken stop)
    {
        var body = new JsonObject
        {
            ["model"] = GenerationModel,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = $"Soak chat {plan.Index}: tell me about queues." }),
            ["stream"] = true,
            ["max_tokens"] = plan.MaxTokens,
            ["temperature"] = 0,
        };
        string? jobId = null;
        var done = false;
        string? failure = null;
        var clock = Stopwatch.StartNew();
        for (var attempt = 0; jobId is null && clock.Elapsed < TimeSpan.FromSeconds(60); attempt++)
        {
            (jobId, done, failure, var refused) = await client.ChatStreamAsync(tenants.ChatKey, body.ToJsonString(), plan.Gateway + attempt, id => Track(id, plan, tenants.Chat, tenants.ChatKey), stop);
            if (!refused)
            {
                break; // answered, or failed after it was sent: not retried (no Idempotency-Key)
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(250 * (attempt + 1), 2000)), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        if (jobId is null)
        {
            Interlocked.Increment(ref _chatWithoutId);
            _notAccepted.Enqueue($"chat {plan.Index}: no job id ({failure})");
            return;
        }

        Interlocked.Increment(ref done ? ref _chatDone : ref _chatBroken);
    }

    private JobEntry Track(string id, JobPlan plan, string tenant, string key)
    {
        var job = new JobEntry(id, plan, tenant, key, DateTimeOffset.UtcNow);
        job.AnsweredIds.Add(id);
        return _jobs.GetOrAdd(id, job);
    }

    private string Body(JobPlan plan)
    {
        var input = plan.Kind.StartsWith("embedding", StringComparison.Ordinal) || plan.Kind == "probe"
            ? new JsonObject
            {
                ["texts"] = new JsonArray([.. Enumerable.Range(0, plan.Texts).Select(t => (JsonNode)$"Soak {options.Seed} job {plan.Index} text {t}: the edge accepts a job and a worker runs it later.")]),
                ["stream"] = plan.Stream,
            }
            : new JsonObject
            {
                ["prompt"] = $"Soak {options.Seed} job {plan.Index}: once upon a time",
                ["maxTokens"] = plan.MaxTokens,
                ["temperature"] = 0,
            };
        var body = new JsonObject
        {
            ["model"] = plan.Kind is "generation" ? GenerationModel : EmbeddingModel,
            ["input"] = input,
        };
        if (plan.Webhook)
        {
            body["webhook"] = new JsonObject { ["url"] = new Uri(receiver.Address, "/hooks").ToString() };
        }

        return body.ToJsonString();
    }

    private async Task InjectAsync(List<(string Kind, TimeSpan At)> faults)
    {
        var random = new Random(options.Seed ^ 0x1eaf);
        var latest = options.Duration * 1.5;
        foreach (var (kind, at) in faults)
        {
            if (at > _clock.Elapsed)
            {
                await Task.Delay(at - _clock.Elapsed);
            }

            if (_clock.Elapsed > latest)
            {
                _skipped.Add(kind);
                continue;
            }

            _faults.Add(await ApplyAsync(kind, random));
            await Task.Delay(TimeSpan.FromSeconds(1)); // the next fault no sooner than a second after this one's recovery
        }
    }

    private async Task<FaultRecord> ApplyAsync(string kind, Random random)
    {
        var at = _clock.Elapsed;
        string target;
        string detail;
        Func<Task> action;
        switch (kind)
        {
            case FaultKinds.GatewayKill:
            {
                var gateway = stack.Gateways[random.Next(stack.Gateways.Length)];
                (target, detail) = (gateway.Name, $"pid {gateway.Pid}");
                action = async () =>
                {
                    await gateway.KillAsync();
                    await stack.StartGatewayAsync(gateway);
                };
                break;
            }

            case FaultKinds.WorkerKill:
            {
                var worker = stack.Workers[random.Next(stack.Workers.Length)];
                (target, detail) = (worker.Name, $"pid {worker.Pid}");
                action = async () =>
                {
                    await worker.KillAsync();
                    await stack.StartWorkerAsync(worker);
                };
                break;
            }

            case FaultKinds.WorkerStop:
            {
                var worker = stack.Workers[random.Next(stack.Workers.Length)];
                (target, detail) = (worker.Name, $"pid {worker.Pid}");
                action = async () =>
                {
                    worker.Signal(SoakProcess.SigStop);
                    await Task.Delay(TimeSpan.FromSeconds(SoakStack.VisibilitySeconds + 4));
                    worker.Signal(SoakProcess.SigCont);
                };
                break;
            }

            case FaultKinds.EmulatorRestart:
                (target, detail) = (stack.Emulator.Name, $"pid {stack.Emulator.Pid}");
                action = async () =>
                {
                    await stack.Emulator.StopAsync(TimeSpan.FromSeconds(10));
                    await stack.StartEmulatorAsync();
                };
                break;

            case FaultKinds.RedisRestart:
            {
                var kill = random.Next(2) == 0;
                (target, detail) = (stack.Redis.Name, $"pid {stack.Redis.Pid}, {(kill ? "SIGKILL" : "SIGTERM")}");
                action = async () =>
                {
                    if (kill)
                    {
                        await stack.Redis.KillAsync();
                    }
                    else
                    {
                        await stack.Redis.StopAsync(TimeSpan.FromSeconds(10));
                    }

                    await stack.StartRedisAsync();
                };
                break;
            }

            case FaultKinds.RedisPause:
                (target, detail) = (stack.Redis.Name, $"pid {stack.Redis.Pid}");
                action = async () =>
                {
                    stack.Redis.Signal(SoakProcess.SigStop);
                    await Task.Delay(TimeSpan.FromSeconds(5));
                    stack.Redis.Signal(SoakProcess.SigCont);
                };
                break;

            default:
                throw new ArgumentException($"Unknown fault kind '{kind}'.", nameof(kind));
        }

        var fault = new FaultRecord(kind, target, at, detail);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[soak] {at.TotalSeconds,6:F1} s  {kind} {target} ({detail})"));
        var started = Stopwatch.StartNew();
        var probe = ProbeAsync(fault, started);
        await action();
        await probe;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[soak] {_clock.Elapsed.TotalSeconds,6:F1} s  {kind} recovered: accepting after {fault.AcceptedAfter?.TotalSeconds:F1} s, a new job done after {fault.DoneAfter?.TotalSeconds:F1} s"));
        return fault;
    }

    /// <summary>A one-text job submitted at the fault's injection, followed to its end.</summary>
    private async Task ProbeAsync(FaultRecord fault, Stopwatch since)
    {
        var index = Interlocked.Increment(ref _probes);
        var plan = new JobPlan(1_000_000 + index, "probe", 1, false, 0, false, null, [], -1, index % 2);
        var (id, failure) = await client.SubmitAsync(tenants.JobsKey, Body(plan), $"soak-{options.Seed}-probe-{index}", plan.Gateway, null, CancellationToken.None);
        if (id is null)
        {
            _notAccepted.Enqueue($"probe {index} ({fault.Kind}): {failure}");
            return;
        }

        fault.AcceptedAfter = since.Elapsed;
        var job = Track(id, plan, tenants.Jobs, tenants.JobsKey);
        while (since.Elapsed < ProbeBound)
        {
            var (status, _) = await client.GetAsync(job.Key, id, index, CancellationToken.None);
            if (status is not null and not "404" and not JobStatuses.Queued and not JobStatuses.Running)
            {
                fault.DoneAfter = since.Elapsed;
                return;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Waits, up to the drain bound, until every accepted job has ended, every subscriber has its
    /// terminal event and every webhook job's terminal event reached the receiver with a 2xx.
    /// </summary>
    private async Task DrainAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < options.Drain)
        {
            var open = _jobs.Values.Where(j => !IsEnded(j.Status)).ToList();
            await Parallel.ForEachAsync(open, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (job, ct) =>
            {
                var (status, _) = await client.GetAsync(job.Key, job.Id, job.Plan.Index, ct);
                job.Status = status ?? job.Status;
            });
            var delivered = receiver.Hits.Where(h => h.Status is >= 200 and < 300 && JobEventTypes.IsTerminal(h.EventType)).Select(h => h.JobId).ToHashSet();
            var pending = _jobs.Values.Count(j => !IsEnded(j.Status))
                + _subscribers.Count(s => !s.Finished)
                + _jobs.Values.Count(j => j.Plan.Webhook && j.Status != "404" && !delivered.Contains(j.Id));
            if (pending == 0)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    private static bool IsEnded(string? status) => status is not null and not JobStatuses.Queued and not JobStatuses.Running;
}

/// <summary>The soak's two tenants and their keys: one for jobs, one for chat completions.</summary>
internal sealed record SoakTenants(string Jobs, string JobsKey, string Chat, string ChatKey);
