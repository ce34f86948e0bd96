using System.Text.Json;
using InferenceGateway.Core.Jobs;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// Each job's webhook attempts, oldest first, in a Redis list beside the job (same hash tag, same
/// retention); the newest <see cref="MaxEntries"/> are kept.
/// </summary>
public sealed class WebhookDeliveryLog(IConnectionMultiplexer redis, IOptions<JobStoreOptions> storeOptions)
{
    public const int MaxEntries = 1000;

    public static string Key(string jobId) => $"job:{{{jobId}}}:webhooks";

    public async Task AppendAsync(string jobId, WebhookDelivery delivery)
    {
        var db = redis.GetDatabase();
        var key = Key(jobId);
        var batch = db.CreateBatch();
        var push = batch.ListRightPushAsync(key, JsonSerializer.Serialize(delivery, WebhookJsonContext.Default.WebhookDelivery));
        var trim = batch.ListTrimAsync(key, -MaxEntries, -1);
        var expire = batch.KeyExpireAsync(key, storeOptions.Value.Retention);
        batch.Execute();
        await Task.WhenAll(push, trim, expire);
    }

    public async Task<IReadOnlyList<WebhookDelivery>> ReadAsync(string jobId)
    {
        var entries = await redis.GetDatabase().ListRangeAsync(Key(jobId));
        return [.. entries.Select(e => JsonSerializer.Deserialize(e.ToString(), WebhookJsonContext.Default.WebhookDelivery)!)];
    }
}
