using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// Each tenant's webhook signing secret in Redis (a hash per tenant): created on first use, replaced
/// by <see cref="RotateAsync"/>, after which the previous one still signs for
/// <see cref="WebhookOptions.RotationOverlap"/> so receivers can roll over without a gap.
/// </summary>
public sealed class WebhookSecrets(IConnectionMultiplexer redis, TimeProvider time, IOptionsMonitor<WebhookOptions> options)
{
    private const string RotateScript = """
        local current = redis.call('HGET', KEYS[1], 'current')
        if current then
          redis.call('HSET', KEYS[1], 'previous', current, 'rotatedAt', ARGV[2])
        end
        redis.call('HSET', KEYS[1], 'current', ARGV[1], 'createdAt', ARGV[2])
        return 1
        """;

    public static string Key(string tenant) => $"webhooks:secret:{{{tenant}}}";

    /// <summary>The tenant's secret, created the first time it is asked for (concurrent first reads agree).</summary>
    public async Task<WebhookSecretState> GetAsync(string tenant)
    {
        var db = redis.GetDatabase();
        var now = time.GetUtcNow();
        var key = Key(tenant);
        var created = db.HashSetAsync(key, "current", WebhookSigner.NewSecret(), When.NotExists);
        var createdAt = db.HashSetAsync(key, "createdAt", Format(now), When.NotExists);
        await Task.WhenAll(created, createdAt);
        return State(await db.HashGetAllAsync(key));
    }

    /// <summary>Replaces the tenant's secret; the one it replaces keeps signing for the overlap.</summary>
    public async Task<WebhookSecretState> RotateAsync(string tenant)
    {
        var db = redis.GetDatabase();
        await db.ScriptEvaluateAsync(RotateScript, [Key(tenant)], [WebhookSigner.NewSecret(), Format(time.GetUtcNow())]);
        return State(await db.HashGetAllAsync(Key(tenant)));
    }

    /// <summary>The secrets a delivery is signed with now: the current one, and the previous one within the overlap.</summary>
    public async Task<IReadOnlyList<string>> SigningSecretsAsync(string tenant)
    {
        var state = await GetAsync(tenant);
        return state.PreviousValidUntil is { } until && until > time.GetUtcNow() && state.Previous is { } previous
            ? [state.Current, previous]
            : [state.Current];
    }

    private WebhookSecretState State(HashEntry[] entries)
    {
        var fields = entries.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
        var rotatedAt = fields.TryGetValue("rotatedAt", out var r) ? Parse(r) : (DateTimeOffset?)null;
        return new WebhookSecretState(
            fields["current"],
            fields.TryGetValue("createdAt", out var c) ? Parse(c) : time.GetUtcNow(),
            fields.GetValueOrDefault("previous"),
            rotatedAt + options.CurrentValue.RotationOverlap);
    }

    private static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string value) =>
        DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
}

/// <summary>A tenant's secret as stored: the current one, when it was made, and the previous one with the end of its overlap.</summary>
public sealed record WebhookSecretState(string Current, DateTimeOffset CreatedAt, string? Previous, DateTimeOffset? PreviousValidUntil);
