using System.Globalization;
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
/// <para>This class reads the outbox (new entries, takeovers, rescans of deferred ones, keeping and
/// giving back); what it holds and in which order is <see cref="WebhookSchedule"/>'s; one entry's
/// delivery and acknowledgement, <see cref="WebhookEntryDelivery"/>'s.</para>
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

    /// <summary>
    /// The most entries of one job this instance holds in memory (delivering, or queued behind that
    /// job's earlier one); its later entries stay pending in this consumer's list in Redis, deferred,
    /// until the job has room again, so one job's backlog cannot fill the dispatcher.
    /// </summary>
    public const int MaxHeldPerJob = 2;

    private readonly WebhookSchedule _schedule = new();
    private WebhookEntryDelivery? _delivery;

    /// <summary>This instance's name in the consumer group.</summary>
    public string Consumer { get; } = ConsumerName();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _delivery = new WebhookEntryDelivery(store, secrets, sender, _schedule, logger);
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
                if (_schedule.TakeRescan() || (keepDue && _schedule.HasDeferred()))
                {
                    // Deferred entries whose job has room again go out now, in order; the rest are kept.
                    var deferred = await RescanAsync(db, outbox, slots, stoppingToken);
                    if (keepDue && deferred.Count > 0)
                    {
                        await db.StreamClaimIdsOnlyAsync(outbox, Group, Consumer, (long)(settings.ClaimAfter / 8).TotalMilliseconds, [.. deferred]);
                    }
                }

                var room = backlog - _schedule.InFlightCount();
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

        var running = _schedule.Running();

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

    /// <summary>
    /// Reads this consumer's pending entries (its history in the group) in order and schedules the
    /// deferred ones whose job has room, keeping each job's order; returns the ids still deferred.
    /// </summary>
    private async Task<List<RedisValue>> RescanAsync(IDatabase db, RedisKey outbox, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        var stillDeferred = new List<RedisValue>();
        var deferredJobs = new HashSet<string>(StringComparer.Ordinal);
        _schedule.BeginRescan();

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
                    if ((deferredJobs.Contains(jobId) || !Schedule(db, outbox, entry, slots, stoppingToken, fromRescan: true)) && _schedule.IsHeldBack(entry.Id.ToString()))
                    {
                        deferredJobs.Add(jobId);
                        stillDeferred.Add(entry.Id);
                    }
                }
            }
        }
        finally
        {
            _schedule.EndRescan();
        }

        _schedule.SetDeferred(deferredJobs);
        return stillDeferred;
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
        RedisValue[] held = [.. _schedule.InFlight().Select(id => (RedisValue)id)];
        if (held.Length > 0)
        {
            await db.StreamClaimIdsOnlyAsync(outbox, Group, Consumer, (long)minIdle.TotalMilliseconds, held);
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
        if (!_schedule.TryStart(entry.Id.ToString(), entry["job"].ToString(), fromRescan, out var previous, out var done))
        {
            return false;
        }

        _ = _delivery!.RunAsync(db, outbox, entry, previous, done, slots, stoppingToken);
        return true;
    }

    /// <summary>The <c>webhook-id</c> of a job's event: the same on every attempt and every redelivery.</summary>
    public static string WebhookId(string jobId, long seq) => string.Create(CultureInfo.InvariantCulture, $"msg_{jobId}_{seq}");

    private static string ConsumerName()
    {
        var host = Environment.MachineName.Length > 40 ? Environment.MachineName[..40] : Environment.MachineName;
        return string.Create(CultureInfo.InvariantCulture, $"{host}-{Environment.ProcessId}-{Guid.NewGuid():N}");
    }
}
