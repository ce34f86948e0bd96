using System.Globalization;
using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// One outbox entry, once the <see cref="WebhookDispatcher"/> scheduled it: after its job's earlier
/// entry, reads the job and the event, delivers it (<see cref="WebhookSender"/>: the attempts, their
/// HTTP, the delivery log), then acknowledges and deletes the entry. An entry that can never be
/// delivered (not a <c>{job, seq}</c> entry, no webhook, a bad URL) is dropped, not retried; a Redis
/// failure or the gateway stopping leaves it pending, for this or another instance to take over.
/// </summary>
internal sealed class WebhookEntryDelivery(
    RedisJobStore store,
    WebhookSecrets secrets,
    WebhookSender sender,
    WebhookSchedule schedule,
    ILogger logger)
{
    private const string AckAndDelete = "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) return redis.call('XDEL', KEYS[1], ARGV[2])";

    /// <summary>
    /// Delivers <paramref name="entry"/> after <paramref name="previous"/> (its job's earlier entry),
    /// at most <paramref name="slots"/>' count of attempts at once across entries, then tells
    /// the <see cref="WebhookSchedule"/> it is done through <paramref name="done"/>.
    /// </summary>
    public async Task RunAsync(IDatabase db, RedisKey outbox, StreamEntry entry, Task previous, TaskCompletionSource done, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        var entryId = entry.Id.ToString();
        var jobId = entry["job"].ToString();
        var seqText = entry["seq"].ToString();
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

            await WebhookRedisRetry.RunAsync(_ => db.ScriptEvaluateAsync(AckAndDelete, [outbox], [WebhookDispatcher.Group, entry.Id]), CancellationToken.None);
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
            schedule.Finish(entryId, jobId, acked, done);
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
        var body = JsonSerializer.SerializeToUtf8Bytes(payload, WebhookJsonContext.Default.WebhookPayload);
        var message = new WebhookMessage(jobId, seq, jobEvent.Type, new Uri(url), WebhookDispatcher.WebhookId(jobId, seq), body);
        var earlier = schedule.GaveUpAt(jobId);
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
            schedule.GaveUp(jobId, url, seq);
        }
    }

    private static bool JobIdLooksRight(string jobId) => jobId.Length is > 0 and <= 128 && Encoding.UTF8.GetByteCount(jobId) == jobId.Length;
}
