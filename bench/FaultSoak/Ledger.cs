using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using StackExchange.Redis;

namespace InferenceGateway.FaultSoak;

/// <summary>
/// The ledger check after the drain: every accepted job read back (its record through the API, its
/// event log from Redis, the source of truth that <c>docs/operations.md</c> names, since the API's
/// streams end at the first terminal event and so could not show a second one), every subscriber's
/// seqs, every webhook the receiver answered, the tenants' usage counters, the TTL of every key in
/// the soak's Redis and the processes' RSS. Renders one markdown table.
/// </summary>
internal sealed partial class Ledger(SoakOptions options, SoakStack stack, SoakClient client, SoakRun run, WebhookReceiver receiver, SoakTenants tenants)
{
    /// <summary>
    /// Keys that may live without a TTL, each with where the docs name it as kept for good. Anything
    /// else without a TTL fails the key check.
    /// </summary>
    public static readonly (string Glob, string Why)[] PermanentKeys =
    [
        ("apikey:*", "API keys live until revoked (docs/api.md#api-keys)"),
        ("usage:{*}", "a tenant's usage total, since its first job (docs/api.md#usage-and-billing)"),
        ("webhooks:secret:{*}", "a tenant's webhook secret (docs/api.md#the-secret)"),
        ("webhooks:outbox", "the webhook outbox stream, Webhooks:Outbox (docs/api.md#delivery-and-retries)"),
        ("apikeys", "the index of API keys behind GET /admin/keys, one field per key (docs/api.md#api-keys)"),
        ("models", "the model registry's specs, one field per model, kept while workers scale to zero (docs/api.md#models)"),
        ("models:edge", "the registry's specs of models served at the edge (docs/api.md#models)"),
        ("models:{*}:workers", "the registry's live workers of a model, pruned to the last 30 s on every heartbeat (docs/api.md#models)"),
        ("models:{*}:warm", "the registry's warm workers of a model, pruned the same way (docs/api.md#models)"),
        ("models:{*}:edge", "the registry's gateways serving a model at the edge, pruned the same way (docs/api.md#models)"),
        ("jobs:{*}:unsent", "a queue's outbox of accepted jobs whose message is not confirmed sent; a member leaves when the send is confirmed, the job starts or ends (docs/operations.md#recoverable-acceptance)"),
        ("jobs:{*}:queued", "a queue's index of jobs accepted and not yet started; a member leaves when the job starts or ends (docs/operations.md#recoverable-acceptance)"),
        ("jobs:{*}:started-watermark", "the latest createdAt of a started job, one number per queue (docs/operations.md#recoverable-acceptance)"),
    ];

    private readonly List<Row> _rows = [];
    private readonly List<string> _details = [];

    public bool Passed => _rows.All(r => r.Verdict != "FAIL");

    public async Task<string> CheckAsync()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConfiguration);
        var db = redis.GetDatabase();
        var jobs = run.Jobs.OrderBy(j => j.Plan.Index).ToList();
        var reads = new Dictionary<string, JobRead>();
        await Parallel.ForEachAsync(jobs, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (job, ct) =>
        {
            var (status, body) = await client.GetAsync(job.Key, job.Id, job.Plan.Index, ct);
            var entries = await db.StreamRangeAsync(JobKeys.Events(job.Id));
            var events = entries.Select(e => new LoggedEvent(
                long.Parse(e.Id.ToString().Split('-')[1], CultureInfo.InvariantCulture),
                (string?)e["type"] ?? "?",
                (string?)e["data"] ?? "null")).ToList();
            lock (reads)
            {
                reads[job.Id] = new JobRead(job, status, body, events);
            }
        });

        var lost = new List<string>();
        var stuck = new List<string>();
        var duplicated = new List<string>();
        var broken = new List<string>();
        var tokens = new List<string>();
        foreach (var read in reads.Values.OrderBy(r => r.Job.Plan.Index))
        {
            var id = read.Job.Id;
            if (read.Status is null or "404")
            {
                lost.Add($"{id} ({read.Job.Plan.Kind}): {(read.Status is null ? "no gateway answered" : "404")}, {read.Events.Count} events in its log");
                continue;
            }

            var terminals = read.Events.Where(e => JobEventTypes.IsTerminal(e.Type)).ToList();
            if (terminals.Count == 0)
            {
                stuck.Add($"{id} ({read.Job.Plan.Kind}): {read.Status}, last event {read.Events.LastOrDefault()?.Type ?? "none"}");
            }
            else if (terminals.Count > 1 || read.Events[^1] != terminals[0])
            {
                duplicated.Add($"{id}: {terminals.Count} terminal events ({string.Join(", ", terminals.Select(t => $"{t.Seq} {t.Type}"))}), {read.Events.Count} events in all");
            }

            if (read.Job.AnsweredIds.Distinct().Count() > 1)
            {
                duplicated.Add($"{id}: its Idempotency-Key was answered with {read.Job.AnsweredIds.Distinct().Count()} job ids ({string.Join(", ", read.Job.AnsweredIds.Distinct())})");
            }

            if (!read.Events.Select(e => e.Seq).SequenceEqual(Enumerable.Range(1, read.Events.Count).Select(i => (long)i)))
            {
                broken.Add($"{id}: log seqs {Seqs(read.Events.Select(e => e.Seq))}");
            }

            if (terminals.Count > 0 && terminals[0].Type != read.Status)
            {
                broken.Add($"{id}: status {read.Status} but terminal event {terminals[0].Type}");
            }

            if (TokenMismatch(read) is { } mismatch)
            {
                tokens.Add($"{id}: {mismatch}");
            }
        }

        var subscribers = CheckSubscribers(reads);
        var webhooks = CheckWebhooks(reads);
        var billing = await CheckBillingAsync(db, reads);
        var keys = await CheckKeysAsync(redis);
        var rss = CheckRss();

        var byKind = run.Jobs.GroupBy(j => j.Plan.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}");
        var chat = run.Chat;
        Info("jobs accepted", $"{jobs.Count} ({string.Join(", ", byKind)}); {jobs.Count(j => j.Plan.Webhook)} with webhooks, {jobs.Count(j => j.CancelSent)} cancels sent, {run.SubscriberLogs.Count} subscribers; chat streams: {chat.Done} to [DONE], {chat.Broken} cut (by a fault, or at the end of the drain); {run.NotAccepted.Count} submits never accepted");
        var faultKinds = FaultKinds.All.Select(k => $"{k} {run.Faults.Count(f => f.Kind == k)}");
        var missingKinds = FaultKinds.All.Where(k => run.Faults.All(f => f.Kind != k)).ToList();
        Info("faults", $"{run.Faults.Count}: {string.Join(", ", faultKinds)}" + (missingKinds.Count > 0 ? $"; not applied (did not fit the run): {string.Join(", ", missingKinds)}" : string.Empty));
        Count("lost (a 202 whose job is gone)", lost);
        Count("duplicated (a second terminal event, or a second job for one Idempotency-Key)", duplicated);
        Count("stuck (no terminal event after the drain)", stuck);
        var longest = run.Faults.OrderByDescending(f => f.DoneAfter ?? TimeSpan.MaxValue).FirstOrDefault();
        Add("longest recovery", longest is null ? "no faults" : $"{longest.Kind} at {Seconds(longest.At)}: accepting again after {Seconds(longest.AcceptedAfter)}, a job accepted then done after {Seconds(longest.DoneAfter)}; longest accept {Seconds(run.Faults.Max(f => f.AcceptedAfter))}",
            run.Faults.All(f => f.DoneAfter is not null) ? "pass" : "FAIL");
        Check("every 202 has exactly one terminal event", lost.Count + stuck.Count + duplicated.Count == 0, $"{jobs.Count - lost.Count - stuck.Count - duplicated.Count} of {jobs.Count}");
        var reruns = reads.Values.Count(r => r.Events.Count(e => e.Type == JobEventTypes.Started) > 1);
        Check("every job's log is seq 1..N and its status matches its terminal event", broken.Count == 0, $"{broken.Count} broken; {reruns} jobs started more than once (a redelivery after a fault)", broken);
        Check("generation: the token events of the last run spell the result's text", tokens.Count == 0, $"{reads.Values.Count(IsCompletedGeneration)} completed generations, {tokens.Count} mismatched", tokens);
        _rows.AddRange(subscribers);
        _rows.AddRange(webhooks);
        _rows.Add(billing);
        _rows.Add(keys);
        _rows.Add(rss);
        if (run.NotAccepted.Count > 0)
        {
            _details.Add("Submits never accepted (the client never held a 202; not counted as lost): " + string.Join("; ", run.NotAccepted.Take(10)));
        }

        return Render();
    }

    private List<Row> CheckSubscribers(Dictionary<string, JobRead> reads)
    {
        var problems = new List<string>();
        foreach (var log in run.SubscriberLogs)
        {
            var read = reads.GetValueOrDefault(log.JobId);
            var terminal = read?.Events.FirstOrDefault(e => JobEventTypes.IsTerminal(e.Type))?.Seq;
            var expected = terminal is { } t ? Enumerable.Range(1, (int)t).Select(i => (long)i).ToList() : null;
            if (!log.Finished)
            {
                problems.Add($"{log.Channel} {log.JobId}: did not reach the terminal event (saw {Seqs(log.Seqs)}; last error {log.LastError})");
            }
            else if (expected is null || !log.Seqs.SequenceEqual(expected))
            {
                problems.Add($"{log.Channel} {log.JobId}: saw {Seqs(log.Seqs)}, the log's terminal event is seq {terminal?.ToString(CultureInfo.InvariantCulture) ?? "none"}{(log.LastError is { } e ? "; " + e : string.Empty)}");
            }
        }

        var logs = run.SubscriberLogs;
        var detail = $"{logs.Count} subscribers ({logs.Count(l => l.Channel == "sse")} SSE, {logs.Count(l => l.Channel == "hub")} hub), {logs.Sum(l => l.Reconnects)} resumes ({logs.Sum(l => l.PlannedDrops)} planned drops), {problems.Count} wrong";
        return [Make("every resumed subscriber saw seq 1..N with no gap or duplicate", problems.Count == 0, detail, problems)];
    }

    private List<Row> CheckWebhooks(Dictionary<string, JobRead> reads)
    {
        var hits = receiver.Hits.ToList();
        var byJob = hits.GroupBy(h => h.JobId).ToDictionary(g => g.Key, g => g.ToList());
        var problems = new List<string>();
        var delivered = 0;
        var webhookJobs = reads.Values.Where(r => r.Job.Plan.Webhook && r.Status is not (null or "404")).ToList();
        foreach (var read in webhookJobs)
        {
            var terminal = read.Events.FirstOrDefault(e => JobEventTypes.IsTerminal(e.Type));
            var mine = byJob.GetValueOrDefault(read.Job.Id) ?? [];
            if (mine.Any(h => h.WebhookId != $"msg_{read.Job.Id}_{h.Seq.ToString(CultureInfo.InvariantCulture)}"))
            {
                problems.Add($"{read.Job.Id}: a webhook-id that is not msg_<job>_<seq> of its event ({string.Join(", ", mine.Select(h => h.WebhookId).Distinct())})");
            }

            var terminalSeqs = mine.Where(h => JobEventTypes.IsTerminal(h.EventType)).Select(h => h.Seq).Distinct().ToList();
            if (terminalSeqs.Count > 1)
            {
                problems.Add($"{read.Job.Id}: terminal events of {terminalSeqs.Count} different seqs delivered ({string.Join(", ", terminalSeqs)})");
            }

            if (terminal is null)
            {
                continue; // stuck: counted above
            }

            var id = $"msg_{read.Job.Id}_{terminal.Seq.ToString(CultureInfo.InvariantCulture)}";
            if (mine.Any(h => h.WebhookId == id && h.Status is >= 200 and < 300 && h.EventType == terminal.Type))
            {
                delivered++;
            }
            else
            {
                problems.Add($"{read.Job.Id}: terminal {terminal.Type} (seq {terminal.Seq}) not delivered with a 2xx; the receiver saw {mine.Count} requests ({string.Join(", ", mine.Select(h => $"{h.WebhookId} {h.Status}"))})");
            }
        }

        var retried = hits.GroupBy(h => h.WebhookId).Count(g => g.Count() > 1);
        var detail = $"{webhookJobs.Count} webhook jobs, {delivered} terminal events delivered with a 2xx; {hits.Count} requests, {hits.Count(h => h.Status >= 500)} answered 503, {retried} webhook-ids sent more than once";
        return [Make("every webhook got the terminal event (same webhook-id across retries)", problems.Count == 0, detail, problems)];
    }

    private async Task<Row> CheckBillingAsync(IDatabase db, Dictionary<string, JobRead> reads)
    {
        var problems = new List<string>();
        var parts = new List<string>();
        var chatOrphans = run.Chat.WithoutId;
        foreach (var tenant in new[] { tenants.Jobs, tenants.Chat })
        {
            var usage = await db.HashGetAsync(UsageKeys.Total(tenant), [UsageKeys.Invocations, UsageKeys.BilledMs]);
            var invocations = (long?)usage[0] ?? 0;
            var billedMs = (long?)usage[1] ?? 0;
            var ran = reads.Values.Where(r => r.Job.Tenant == tenant)
                .Select(r => r.Events.FirstOrDefault(e => JobEventTypes.IsTerminal(e.Type)))
                .Select(BilledMs)
                .Where(ms => ms is not null)
                .ToList();
            var expectedMs = ran.Sum(ms => ms!.Value);
            parts.Add($"{tenant}: {invocations} invocations, {billedMs} ms billed; {ran.Count} terminal events with metrics, {expectedMs} ms");
            var orphans = tenant == tenants.Chat ? chatOrphans : 0;
            if (invocations < ran.Count || invocations > ran.Count + orphans || (orphans == 0 && billedMs != expectedMs))
            {
                problems.Add($"{tenant}: usage counts {invocations} invocations / {billedMs} ms against {ran.Count} jobs that ran / {expectedMs} ms in their terminal events");
            }
        }

        if (chatOrphans > 0)
        {
            parts.Add($"{chatOrphans} chat requests failed before naming their job, so up to that many more invocations are allowed");
        }

        return Make("no job billed twice (usage counters against the terminal events' metrics)", problems.Count == 0, string.Join("; ", parts), problems);
    }

    private async Task<Row> CheckKeysAsync(ConnectionMultiplexer redis)
    {
        var server = redis.GetServers()[0];
        var db = redis.GetDatabase();
        var keys = new List<RedisKey>();
        await foreach (var key in server.KeysAsync(pattern: "*", pageSize: 1000))
        {
            keys.Add(key);
        }

        var ttls = await Task.WhenAll(keys.Select(k => db.KeyTimeToLiveAsync(k)));
        var permanent = new Dictionary<string, int>(StringComparer.Ordinal);
        var undocumented = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < keys.Count; i++)
        {
            if (ttls[i] is not null)
            {
                continue;
            }

            var name = keys[i].ToString();
            if (!await db.KeyExistsAsync(keys[i]))
            {
                continue; // expired or deleted between the scan and the TTL
            }

            var shape = Shape(name);
            var bucket = PermanentKeys.Any(p => KeyPattern(p.Glob).IsMatch(name)) ? permanent : undocumented;
            bucket[shape] = bucket.GetValueOrDefault(shape) + 1;
        }

        var detail = $"{keys.Count} keys; without a TTL, documented: {Describe(permanent)}; not documented: {Describe(undocumented)}";
        return Make("every Redis key has a TTL or is a documented permanent key", undocumented.Count == 0, detail, []);

        static string Describe(Dictionary<string, int> shapes) =>
            shapes.Count == 0 ? "none" : string.Join(", ", shapes.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"`{s.Key}` ×{s.Value}"));
    }

    /// <remarks>
    /// 20 %, or 50 % in a short run: a gateway's heap is still growing toward its working set for
    /// the first minute or two of load (measured: 168 MiB after a 40 s warm-up, 210 MiB at 100 s,
    /// flat after), which only a long run's baseline has left behind; 50 % still catches a gross leak.
    /// </remarks>
    private Row CheckRss()
    {
        var limit = options.Short ? 0.50 : 0.20;
        var parts = new List<string>();
        var problems = new List<string>();
        foreach (var process in stack.Gateways.Concat(stack.Workers))
        {
            if (!run.WarmRss.TryGetValue(process.Name, out var warm) || warm.MiB <= 0)
            {
                parts.Add($"{process.Name}: no reading after the warm-up");
                problems.Add($"{process.Name}: no reading after the warm-up");
                continue;
            }

            var now = Rss.MiB(process.Pid);
            var restarted = process.Pid != warm.Pid;
            var own = run.InstanceRss.TryGetValue(process.Pid, out var instance) && instance.MiB > 0 ? instance : default;
            if (restarted && own.MiB > 0)
            {
                // Started again by a fault, and lived a warm-up's length since: against its own baseline.
                warm = (process.Pid, own.MiB);
                restarted = false;
            }

            var change = (now - warm.MiB) / warm.MiB;
            var note = process.Pid != run.WarmRss[process.Name].Pid
                ? (restarted ? ", restarted too late for a baseline of its own: only growth over the first instance's counts" : string.Create(CultureInfo.InvariantCulture, $", restarted at {own.FirstSeen.TotalSeconds:F0} s: against its own warm-up"))
                : string.Empty;
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{process.Name} {warm.MiB:F0} → {now:F0} MiB ({change:+0%;-0%;0%}{note})"));
            if (change > limit || (!restarted && change < -limit))
            {
                problems.Add($"{process.Name}: {change:P0}");
            }
        }

        return Make(string.Create(CultureInfo.InvariantCulture, $"gateway and worker RSS at the end within {limit:P0} of after the warm-up{(options.Short ? " (short run: see bench/README.md)" : string.Empty)}"), problems.Count == 0, string.Join("; ", parts), problems);
    }

    private static long? BilledMs(LoggedEvent? terminal)
    {
        if (terminal is null)
        {
            return null;
        }

        using var data = JsonDocument.Parse(terminal.Data);
        return data.RootElement.ValueKind == JsonValueKind.Object
            && data.RootElement.TryGetProperty("metrics", out var metrics)
            && metrics.TryGetProperty("billedMs", out var billed)
            && billed.ValueKind == JsonValueKind.Number
                ? (long)billed.GetDouble()
                : null;
    }

    private static bool IsCompletedGeneration(JobRead read) =>
        read.Job.Plan.Kind is "generation" or "chat" && read.Status == JobStatuses.Completed;

    /// <summary>The token events after the last <c>started</c> against the result's text: what the chat stream's merge relies on.</summary>
    private static string? TokenMismatch(JobRead read)
    {
        if (!IsCompletedGeneration(read) || read.Body is not { } body
            || !body.TryGetProperty("result", out var result) || result.ValueKind != JsonValueKind.Object
            || !result.TryGetProperty("text", out var textElement))
        {
            return null;
        }

        var lastStart = read.Events.FindLastIndex(e => e.Type == JobEventTypes.Started);
        var text = new StringBuilder();
        var next = 0L;
        foreach (var e in read.Events.Skip(lastStart + 1).Where(e => e.Type == JobEventTypes.Token))
        {
            using var data = JsonDocument.Parse(e.Data);
            var index = data.RootElement.GetProperty("index").GetInt64();
            if (index != next)
            {
                return $"token index {index} where {next} was next (seq {e.Seq})";
            }

            next += data.RootElement.GetProperty("count").GetInt64();
            text.Append(data.RootElement.GetProperty("text").GetString());
        }

        return text.ToString() == textElement.GetString() ? null : $"tokens spell {text.Length} characters, the result has {textElement.GetString()?.Length}";
    }

    private string Render()
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"| what | result | check |");
        report.AppendLine("|---|---|---|");
        foreach (var row in _rows)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"| {row.What} | {row.Result.Replace("|", "\\|", StringComparison.Ordinal)} | {row.Verdict} |");
        }

        report.AppendLine();
        report.AppendLine("Faults (time from the start of the load; recovery measured from the injection):");
        report.AppendLine();
        foreach (var fault in run.Faults)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"- {Seconds(fault.At)} {fault.Kind} {fault.Target} ({fault.Detail}): accepting after {Seconds(fault.AcceptedAfter)}, a new job done after {Seconds(fault.DoneAfter)}");
        }

        foreach (var skipped in run.Skipped)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"- {skipped}: not applied, past the end of the run");
        }

        if (_details.Count > 0)
        {
            report.AppendLine();
            foreach (var detail in _details)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"- {detail}");
            }
        }

        report.AppendLine();
        report.AppendLine("Keys allowed without a TTL: " + string.Join("; ", PermanentKeys.Select(p => $"`{p.Glob}`: {p.Why}")) + ".");
        return report.ToString();
    }

    private void Info(string what, string result) => _rows.Add(new Row(what, result, "–"));

    private void Add(string what, string result, string verdict) => _rows.Add(new Row(what, result, verdict));

    private void Count(string what, List<string> problems)
    {
        _rows.Add(new Row(what, problems.Count.ToString(CultureInfo.InvariantCulture), problems.Count == 0 ? "pass" : "FAIL"));
        AddDetails(what, problems);
    }

    private void Check(string what, bool passed, string detail, List<string>? problems = null)
    {
        _rows.Add(Make(what, passed, detail, problems ?? []));
    }

    private Row Make(string what, bool passed, string detail, List<string> problems)
    {
        AddDetails(what, problems);
        return new Row(what, detail, passed ? "pass" : "FAIL");
    }

    private void AddDetails(string what, List<string> problems)
    {
        if (problems.Count > 0)
        {
            _details.Add($"{what}: {problems.Count}, the first: " + string.Join("; ", problems.Take(10)));
        }
    }

    private static string Seqs(IEnumerable<long> seqs)
    {
        var list = seqs.ToList();
        return list.Count <= 12 ? "[" + string.Join(",", list) + "]" : "[" + string.Join(",", list.Take(6)) + ",…," + string.Join(",", list.TakeLast(4)) + $"] ({list.Count})";
    }

    private static string Seconds(TimeSpan? time) => time is { } t ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:F1} s") : "never (within the bound)";

    /// <summary>A key with its ids made generic: hash tags, job ids, dates and long hex runs as <c>*</c>.</summary>
    private static string Shape(string key) => HexRun().Replace(HashTag().Replace(key, "{*}"), "*");

    private static Regex KeyPattern(string glob) =>
        new("^" + Regex.Escape(glob).Replace("\\*", ".*", StringComparison.Ordinal) + "$", RegexOptions.CultureInvariant);

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex HashTag();

    [GeneratedRegex(@"[0-9a-f]{16,}|\d{4}-\d{2}-\d{2}")]
    private static partial Regex HexRun();

    private sealed record Row(string What, string Result, string Verdict);

    private sealed record LoggedEvent(long Seq, string Type, string Data);

    private sealed record JobRead(JobEntry Job, string? Status, JsonElement? Body, List<LoggedEvent> Events);
}
