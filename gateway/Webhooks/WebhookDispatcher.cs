using System.Globalization;
using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// Delivers the webhook outbox. The job store's scripts add <c>{job, seq}</c> to the outbox in the
/// same atomic step that appends an event a job's webhook wants, so a delivery is recorded even if
/// the gateway dies a moment later. Every gateway instance reads the outbox in one consumer group
/// (<see cref="Group"/>), delivers, and only then acknowledges and deletes the entry; an entry left
/// unacknowledged by an instance that died is taken over (XAUTOCLAIM) after
/// <see cref="WebhookOptions.ClaimAfter"/>. A live instance keeps the entries it holds (delivering,
/// retrying, queued behind the same job's earlier events, or deferred) from being taken over by
/// re-claiming them for itself (XCLAIM, which resets their idle time) every quarter of that, so a
/// long retry schedule is not mistaken for a dead instance; on a graceful stop it gives them back
/// (idle time set to ClaimAfter) for another instance to take at once. Delivery is therefore at
/// least once, with the same <c>webhook-id</c> every time, for receivers to dedupe on.
/// </summary>
/// <remarks>
/// Order: within one instance, one job's events are delivered one after another in the order they
/// were appended (seq order), each after the previous one's last attempt; different jobs' events go
/// out concurrently, up to <see cref="WebhookOptions.MaxConcurrency"/> attempts at once (a slot is
/// not held while waiting to retry). At most <see cref="MaxHeldPerJob"/> of a job's entries are held
/// in memory, and a job whose receiver failed an earlier event's every attempt has its later events
/// to that URL failed without sending, so one dead receiver does not hold up other jobs. An entry taken over from a
/// dead instance, or read by another instance, may arrive out of that order; receivers order by
/// <c>data.seq</c>.
/// </remarks>
public sealed class WebhookDispatcher(
    IConnectionMultiplexer redis,
    RedisJobStore store,
    WebhookSecrets secrets,
    WebhookSender sender,
    IOptionsMonitor<WebhookOptions> options,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    public const string Group = "webhooks";

    private const string AckAndDelete = "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) return redis.call('XDEL', KEYS[1], ARGV[2])";

    /// <summary>
    /// The most entries of one job this instance holds in memory (delivering, or queued behind that
    /// job's earlier one); its later entries stay pending in this consumer's list in Redis, deferred,
    /// until the job has room again, so one job's backlog cannot fill the dispatcher.
    /// </summary>
    public const int MaxHeldPerJob = 2;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Task> _tails = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _heldByJob = new(StringComparer.Ordinal);
    private HashSet<string> _deferredJobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Url, long Seq)> _gaveUp = new(StringComparer.Ordinal);
    private bool _rescan;

    /// <summary>
    /// Entries acknowledged while a rescan runs: its pages are read before they are scheduled, so an
    /// entry can finish (acked, deleted, no longer in flight) between the two; without this the
    /// rescan would deliver it again. Null while no rescan runs.
    /// </summary>
    private HashSet<string>? _ackedDuringRescan;

    /// <summary>This instance's name in the consumer group.</summary>
    public string Consumer { get; } = ConsumerName();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.CurrentValue;
        var outbox = new RedisKey(settings.Outbox);
        using var slots = new SemaphoreSlim(settings.MaxConcurrency);
        var backlog = settings.MaxConcurrency * 4;
        var groupReady = false;
        var nextClaim = DateTimeOffset.MinValue;
        RedisValue claimCursor = "0-0";
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var db = redis.GetDatabase();
                if (!groupReady)
                {
                    await EnsureGroupAsync(db, outbox);
                    groupReady = true;
                }

                var found = 0;
                var keepDue = time.GetUtcNow() >= nextClaim;
                if (TakeRescan() || (keepDue && HasDeferred()))
                {
                    // Deferred entries whose job has room again go out now, in order; the rest are kept.
                    var deferred = await RescanAsync(db, outbox, slots, stoppingToken);
                    if (keepDue && deferred.Count > 0)
                    {
                        await db.StreamClaimIdsOnlyAsync(outbox, Group, Consumer, (long)(settings.ClaimAfter / 8).TotalMilliseconds, [.. deferred]);
                    }
                }

                var room = backlog - InFlightCount();
                if (keepDue)
                {
                    // Keep what this instance holds, then take over what a dead one left.
                    await KeepAsync(db, outbox, settings.ClaimAfter / 8);
                    if (room > 0)
                    {
                        var claimed = await db.StreamAutoClaimAsync(outbox, Group, Consumer, (long)settings.ClaimAfter.TotalMilliseconds, claimCursor, room);
                        claimCursor = claimed.NextStartId;
                        var taken = claimed.ClaimedEntries.Count(e => Schedule(db, outbox, e, slots, stoppingToken));
                        if (taken > 0)
                        {
                            WebhookLog.Claimed(logger, taken);
                        }

                        found += claimed.ClaimedEntries.Length;
                        room -= taken;
                    }

                    var claimEvery = settings.ClaimAfter / 4;
                    nextClaim = time.GetUtcNow() + (claimEvery > settings.PollInterval ? claimEvery : settings.PollInterval);
                }

                if (room > 0)
                {
                    var entries = await db.StreamReadGroupAsync(outbox, Group, Consumer, StreamPosition.NewMessages, room);
                    // A deferred entry counts as found too: the outbox is read on at once.
                    found += entries.Length;
                    foreach (var entry in entries)
                    {
                        Schedule(db, outbox, entry, slots, stoppingToken);
                    }
                }

                if (found == 0)
                {
                    await Task.Delay(settings.PollInterval, time, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                if (ex.Message.Contains("NOGROUP", StringComparison.Ordinal))
                {
                    groupReady = false;
                }

                WebhookLog.OutboxUnreadable(logger, ex);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
            }
        }

        Task[] running;
        lock (_lock)
        {
            running = [.. _tails.Values];
        }

        // Deliveries in progress stop with the token; their entries stay pending, and are given back
        // (made claimable at once) so another instance takes them over without waiting ClaimAfter.
        await Task.WhenAll(running);
        await GiveBackAsync(outbox, settings.ClaimAfter);
    }

    /// <summary>Marks every entry this consumer still holds as idle for <paramref name="claimAfter"/>, so the next XAUTOCLAIM of any instance takes it.</summary>
    private async Task GiveBackAsync(RedisKey outbox, TimeSpan claimAfter)
    {
        try
        {
            var db = redis.GetDatabase();
            var pending = await db.StreamPendingMessagesAsync(outbox, Group, 1000, Consumer);
            if (pending.Length == 0)
            {
                return;
            }

            var idle = (long)claimAfter.TotalMilliseconds + 1;
            List<object> arguments = [(string)outbox!, Group, Consumer, 0L, .. pending.Select(p => (object)p.MessageId.ToString()), "IDLE", idle, "JUSTID"];
            await db.ExecuteAsync("XCLAIM", arguments);
            WebhookLog.GaveBack(logger, pending.Length);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            WebhookLog.GiveBackFailed(logger, ex);
        }
    }

    private bool TakeRescan()
    {
        lock (_lock)
        {
            var rescan = _rescan;
            _rescan = false;
            return rescan;
        }
    }

    private bool HasDeferred()
    {
        lock (_lock)
        {
            return _deferredJobs.Count > 0;
        }
    }

    /// <summary>
    /// Reads this consumer's pending entries (its history in the group) in order and schedules the
    /// deferred ones whose job has room, keeping each job's order; returns the ids still deferred.
    /// </summary>
    private async Task<List<RedisValue>> RescanAsync(IDatabase db, RedisKey outbox, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        var stillDeferred = new List<RedisValue>();
        var deferredJobs = new HashSet<string>(StringComparer.Ordinal);
        lock (_lock)
        {
            _ackedDuringRescan = new HashSet<string>(StringComparer.Ordinal);
        }

        try
        {
            RedisValue after = "0-0";
            while (true)
            {
                var page = await db.StreamReadGroupAsync(outbox, Group, Consumer, after, 256);
                if (page.Length == 0)
                {
                    break;
                }

                foreach (var entry in page)
                {
                    after = entry.Id;
                    if (entry.IsNull || entry.Values.Length == 0)
                    {
                        continue;
                    }

                    var jobId = entry["job"].ToString();
                    if ((deferredJobs.Contains(jobId) || !Schedule(db, outbox, entry, slots, stoppingToken, fromRescan: true)) && IsHeldBack(entry.Id.ToString()))
                    {
                        deferredJobs.Add(jobId);
                        stillDeferred.Add(entry.Id);
                    }
                }
            }
        }
        finally
        {
            lock (_lock)
            {
                _ackedDuringRescan = null;
            }
        }

        lock (_lock)
        {
            foreach (var job in _deferredJobs)
            {
                if (!deferredJobs.Contains(job) && !_heldByJob.ContainsKey(job))
                {
                    _gaveUp.Remove(job);
                }
            }

            _deferredJobs = deferredJobs;
        }

        return stillDeferred;
    }

    /// <summary>Whether an entry a rescan did not schedule still waits: neither in progress here nor finished since the rescan read it.</summary>
    private bool IsHeldBack(string entryId)
    {
        lock (_lock)
        {
            return !_inFlight.Contains(entryId) && _ackedDuringRescan?.Contains(entryId) != true;
        }
    }

    private static async Task EnsureGroupAsync(IDatabase db, RedisKey outbox)
    {
        try
        {
            await db.StreamCreateConsumerGroupAsync(outbox, Group, "0-0", createStream: true);
        }
        catch (RedisServerException ex) when (ex.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
        {
            // Another instance (or an earlier run) created it.
        }
    }

    /// <summary>
    /// Resets the idle time of the entries this instance holds, so no other instance takes them
    /// over; one idle less than <paramref name="minIdle"/> is left alone, and so is one another
    /// instance has already taken (its idle time was reset by that).
    /// </summary>
    private async Task KeepAsync(IDatabase db, RedisKey outbox, TimeSpan minIdle)
    {
        RedisValue[] held;
        lock (_lock)
        {
            held = [.. _inFlight.Select(id => (RedisValue)id)];
        }

        if (held.Length > 0)
        {
            await db.StreamClaimIdsOnlyAsync(outbox, Group, Consumer, (long)minIdle.TotalMilliseconds, held);
        }
    }

    private int InFlightCount()
    {
        lock (_lock)
        {
            return _inFlight.Count;
        }
    }

    /// <summary>
    /// Starts delivering an entry after the same job's earlier ones. False when it is already in
    /// progress here, or when it is deferred: its job already has <see cref="MaxHeldPerJob"/> entries
    /// held, or (read afresh, not from <see cref="RescanAsync"/>) earlier entries deferred; a deferred
    /// entry stays pending for this consumer and a rescan schedules it once its job has room.
    /// </summary>
    private bool Schedule(IDatabase db, RedisKey outbox, StreamEntry entry, SemaphoreSlim slots, CancellationToken stoppingToken, bool fromRescan = false)
    {
        var entryId = entry.Id.ToString();
        var jobId = entry["job"].ToString();
        var seqText = entry["seq"].ToString();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task previous;
        lock (_lock)
        {
            if (_inFlight.Contains(entryId) || _ackedDuringRescan?.Contains(entryId) == true)
            {
                return false;
            }

            var held = _heldByJob.GetValueOrDefault(jobId);
            if (held >= MaxHeldPerJob || (!fromRescan && _deferredJobs.Contains(jobId)))
            {
                _deferredJobs.Add(jobId);
                return false;
            }

            _inFlight.Add(entryId);
            _heldByJob[jobId] = held + 1;
            previous = _tails.GetValueOrDefault(jobId) ?? Task.CompletedTask;
            _tails[jobId] = done.Task;
        }

        _ = RunAsync();
        return true;

        async Task RunAsync()
        {
            var acked = false;
            try
            {
                await previous;
                if (!long.TryParse(seqText, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || !JobIdLooksRight(jobId))
                {
                    WebhookLog.Dropped(logger, entryId, "not a {job, seq} entry");
                }
                else
                {
                    try
                    {
                        await DeliverAsync(jobId, seq, entryId, slots, stoppingToken);
                    }
                    catch (Exception ex) when (ex is not (RedisException or TimeoutException or OperationCanceledException))
                    {
                        // A record that cannot be delivered (bad URL or result on it) would fail the same way
                        // on every takeover: drop it rather than retry it forever. Redis failures stay pending.
                        WebhookLog.Dropped(logger, entryId, $"{ex.GetType().Name}: {ex.Message}");
                    }
                }

                await WebhookRedisRetry.RunAsync(_ => db.ScriptEvaluateAsync(AckAndDelete, [outbox], [Group, entry.Id]), CancellationToken.None);
                acked = true;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Left pending: another instance (or this one, restarted) takes it over.
            }
            catch (Exception ex)
            {
                WebhookLog.DeliveryBrokeOff(logger, ex, jobId, long.TryParse(seqText, CultureInfo.InvariantCulture, out var s) ? s : 0);
            }
            finally
            {
                lock (_lock)
                {
                    _inFlight.Remove(entryId);
                    if (acked)
                    {
                        _ackedDuringRescan?.Add(entryId);
                    }
                    if (_tails.TryGetValue(jobId, out var tail) && tail == done.Task)
                    {
                        _tails.Remove(jobId);
                    }

                    if (_heldByJob.GetValueOrDefault(jobId) <= 1)
                    {
                        _heldByJob.Remove(jobId);
                        if (!_deferredJobs.Contains(jobId))
                        {
                            _gaveUp.Remove(jobId);
                        }
                    }
                    else
                    {
                        _heldByJob[jobId]--;
                    }

                    if (_deferredJobs.Contains(jobId))
                    {
                        _rescan = true;
                    }
                }

                done.SetResult();
            }
        }
    }

    private async Task DeliverAsync(string jobId, long seq, string entryId, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        var job = await WebhookRedisRetry.RunAsync(_ => store.GetAsync(jobId), cancellationToken);
        if (job?.WebhookUrl is not { } url)
        {
            WebhookLog.Dropped(logger, entryId, $"job {jobId} has no webhook (or is past its retention)");
            return;
        }

        var events = await WebhookRedisRetry.RunAsync(_ => store.ReadEventsAsync(jobId, seq - 1, 1), cancellationToken);
        if (events is not [{ } jobEvent] || jobEvent.Seq != seq)
        {
            WebhookLog.Dropped(logger, entryId, $"job {jobId} has no event {seq}");
            return;
        }

        var terminal = JobEventTypes.IsTerminal(jobEvent.Type);
        JsonElement? result = terminal && job.ResultJson is { } raw ? JsonDocument.Parse(raw).RootElement.Clone() : null;
        var payload = new WebhookPayload(
            "job." + jobEvent.Type,
            jobEvent.At,
            new WebhookEventData(jobId, seq, jobEvent.Type, jobEvent.At, jobEvent.Data, terminal ? job.Status : null, result, terminal ? job.Error : null));
        var body = JsonSerializer.SerializeToUtf8Bytes(payload, GatewayJsonContext.Default.WebhookPayload);
        var message = new WebhookMessage(jobId, seq, jobEvent.Type, new Uri(url), WebhookId(jobId, seq), body);
        (string Url, long Seq) earlier;
        lock (_lock)
        {
            earlier = _gaveUp.GetValueOrDefault(jobId);
        }

        if (earlier.Url == url)
        {
            // The receiver already failed every attempt at an earlier event of this job: do not spend
            // another full retry schedule on each later one (nor hold up the job's chain that long).
            await sender.FailUnsentAsync(message, string.Create(CultureInfo.InvariantCulture, $"not sent: the receiver failed an earlier delivery of this job (seq {earlier.Seq}) after every attempt"));
            return;
        }

        var delivery = await sender.DeliverAsync(message, () => WebhookRedisRetry.RunAsync(_ => secrets.SigningSecretsAsync(job.Tenant), cancellationToken).AsTask(), slots, cancellationToken);
        if (delivery.GaveUp)
        {
            lock (_lock)
            {
                _gaveUp[jobId] = (url, seq);
            }
        }
    }

    /// <summary>The <c>webhook-id</c> of a job's event: the same on every attempt and every redelivery.</summary>
    public static string WebhookId(string jobId, long seq) => string.Create(CultureInfo.InvariantCulture, $"msg_{jobId}_{seq}");

    private static string ConsumerName()
    {
        var host = Environment.MachineName.Length > 40 ? Environment.MachineName[..40] : Environment.MachineName;
        return string.Create(CultureInfo.InvariantCulture, $"{host}-{Environment.ProcessId}-{Guid.NewGuid():N}");
    }

    private static bool JobIdLooksRight(string jobId) => jobId.Length is > 0 and <= 128 && Encoding.UTF8.GetByteCount(jobId) == jobId.Length;
}
