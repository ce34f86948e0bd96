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
/// retrying or queued behind the same job's earlier events) from being taken over by re-claiming
/// them for itself (XCLAIM, which resets their idle time) every quarter of that, so a long retry
/// schedule is not mistaken for a dead instance. Delivery is therefore at least once, with the
/// same <c>webhook-id</c> every time, for receivers to dedupe on.
/// </summary>
/// <remarks>
/// Order: within one instance, one job's events are delivered one after another in the order they
/// were appended (seq order), each after the previous one's last attempt; different jobs' events go
/// out concurrently, up to <see cref="WebhookOptions.MaxConcurrency"/>. An entry taken over from a
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

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Task> _tails = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);

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
                var room = backlog - InFlightCount();
                if (time.GetUtcNow() >= nextClaim)
                {
                    // Keep what this instance holds, then take over what a dead one left.
                    await KeepAsync(db, outbox, settings.ClaimAfter / 2);
                    if (room > 0)
                    {
                        var claimed = await db.StreamAutoClaimAsync(outbox, Group, Consumer, (long)settings.ClaimAfter.TotalMilliseconds, claimCursor, room);
                        claimCursor = claimed.NextStartId;
                        var taken = claimed.ClaimedEntries.Count(e => Schedule(db, outbox, e, slots, stoppingToken));
                        if (taken > 0)
                        {
                            WebhookLog.Claimed(logger, taken);
                        }

                        found += taken;
                        room -= taken;
                    }

                    var claimEvery = settings.ClaimAfter / 4;
                    nextClaim = time.GetUtcNow() + (claimEvery > settings.PollInterval ? claimEvery : settings.PollInterval);
                }

                if (room > 0)
                {
                    var entries = await db.StreamReadGroupAsync(outbox, Group, Consumer, StreamPosition.NewMessages, room);
                    found += entries.Count(e => Schedule(db, outbox, e, slots, stoppingToken));
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

        // Deliveries in progress stop with the token; their entries stay pending for another instance.
        await Task.WhenAll(running);
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

    /// <summary>Starts delivering an entry after the same job's earlier ones; false when it is already in progress here.</summary>
    private bool Schedule(IDatabase db, RedisKey outbox, StreamEntry entry, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        var entryId = entry.Id.ToString();
        var jobId = entry["job"].ToString();
        var seqText = entry["seq"].ToString();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task previous;
        lock (_lock)
        {
            if (!_inFlight.Add(entryId))
            {
                return false;
            }

            previous = _tails.GetValueOrDefault(jobId) ?? Task.CompletedTask;
            _tails[jobId] = done.Task;
        }

        _ = RunAsync();
        return true;

        async Task RunAsync()
        {
            try
            {
                await previous;
                await slots.WaitAsync(stoppingToken);
                try
                {
                    if (!long.TryParse(seqText, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || !JobIdLooksRight(jobId))
                    {
                        WebhookLog.Dropped(logger, entryId, "not a {job, seq} entry");
                    }
                    else
                    {
                        try
                        {
                            await DeliverAsync(jobId, seq, entryId, stoppingToken);
                        }
                        catch (Exception ex) when (ex is not (RedisException or TimeoutException or OperationCanceledException))
                        {
                            // A record that cannot be delivered (bad URL or result on it) would fail the same way
                            // on every takeover: drop it rather than retry it forever. Redis failures stay pending.
                            WebhookLog.Dropped(logger, entryId, $"{ex.GetType().Name}: {ex.Message}");
                        }
                    }

                    await db.ScriptEvaluateAsync(AckAndDelete, [outbox], [Group, entry.Id]);
                }
                finally
                {
                    slots.Release();
                }
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
                    if (_tails.TryGetValue(jobId, out var tail) && tail == done.Task)
                    {
                        _tails.Remove(jobId);
                    }
                }

                done.SetResult();
            }
        }
    }

    private async Task DeliverAsync(string jobId, long seq, string entryId, CancellationToken cancellationToken)
    {
        var job = await store.GetAsync(jobId);
        if (job?.WebhookUrl is not { } url)
        {
            WebhookLog.Dropped(logger, entryId, $"job {jobId} has no webhook (or is past its retention)");
            return;
        }

        var events = await store.ReadEventsAsync(jobId, seq - 1, 1);
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
        await sender.DeliverAsync(message, () => secrets.SigningSecretsAsync(job.Tenant), cancellationToken);
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
