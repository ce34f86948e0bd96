using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Auth;

/// <summary>
/// API keys in Redis. A key is shown once, at creation; Redis holds only its SHA-256 hash (a
/// high-entropy random key needs no slow hash) under <c>apikey:{hash}</c>, and an index from key id
/// to hash under <c>apikeys</c>. Revoking deletes both and publishes the hash on
/// <see cref="RevokedChannel"/> so every gateway drops it from its cache at once.
/// </summary>
public sealed class ApiKeyStore(IConnectionMultiplexer redis, TimeProvider time)
{
    public const string RevokedChannel = "apikeys:revoked";
    private const string KeyPrefix = "igw_";
    private const string IndexKey = "apikeys";

    /// <summary>Creates a key and returns it with the secret, which is not stored.</summary>
    public async Task<CreatedApiKey> CreateAsync(NewApiKey request)
    {
        var secret = KeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var hash = Hash(secret);
        var key = new ApiKey(
            "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            request.Tenant,
            request.Name,
            [.. request.Scopes],
            request.Plan,
            time.GetUtcNow(),
            request.ExpiresAt);
        var transaction = redis.GetDatabase().CreateTransaction();
        _ = transaction.HashSetAsync(RedisKey(hash), ToEntries(key));
        _ = transaction.HashSetAsync(IndexKey, key.Id, hash);
        await transaction.ExecuteAsync();
        return new CreatedApiKey(secret, key);
    }

    /// <summary>The key a caller presented, or null when it is unknown. Expiry is the caller's to judge.</summary>
    public async Task<ApiKey?> FindAsync(string presented) =>
        LooksLikeKey(presented) ? await FindByHashAsync(Hash(presented)) : null;

    /// <summary>Every key, optionally of one tenant, without secrets.</summary>
    public async Task<IReadOnlyList<ApiKey>> ListAsync(string? tenant)
    {
        var db = redis.GetDatabase();
        var index = await db.HashGetAllAsync(IndexKey);
        var lookups = index.Select(entry => FindByHashAsync(entry.Value.ToString())).ToList();
        var keys = await Task.WhenAll(lookups);
        return [.. keys.OfType<ApiKey>().Where(k => tenant is null || k.Tenant == tenant).OrderBy(k => k.CreatedAt)];
    }

    /// <summary>Revokes a key by id; false when there is no such key.</summary>
    public async Task<bool> RevokeAsync(string id)
    {
        var db = redis.GetDatabase();
        var hash = await db.HashGetAsync(IndexKey, id);
        if (hash.IsNullOrEmpty)
        {
            return false;
        }

        var transaction = db.CreateTransaction();
        _ = transaction.KeyDeleteAsync(RedisKey(hash.ToString()));
        _ = transaction.HashDeleteAsync(IndexKey, id);
        await transaction.ExecuteAsync();
        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(RevokedChannel), hash);
        return true;
    }

    /// <summary>The SHA-256 of a presented key, the form everything else handles.</summary>
    public static string Hash(string presented) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(presented)));

    public static bool LooksLikeKey(string presented) =>
        presented.Length is >= 8 and <= 256 && presented.StartsWith(KeyPrefix, StringComparison.Ordinal);

    public async Task<ApiKey?> FindByHashAsync(string hash)
    {
        var entries = await redis.GetDatabase().HashGetAllAsync(RedisKey(hash));
        if (entries.Length == 0)
        {
            return null;
        }

        var fields = entries.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
        if (!fields.TryGetValue("id", out var id) || !fields.TryGetValue("tenant", out var tenant))
        {
            return null;
        }

        return new ApiKey(
            id,
            tenant,
            fields.GetValueOrDefault("name") ?? string.Empty,
            (fields.GetValueOrDefault("scopes") ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries),
            fields.GetValueOrDefault("plan") is { Length: > 0 } plan ? plan : null,
            ParseTime(fields.GetValueOrDefault("createdAt")) ?? DateTimeOffset.UnixEpoch,
            ParseTime(fields.GetValueOrDefault("expiresAt")));
    }

    private static HashEntry[] ToEntries(ApiKey key) =>
    [
        new("id", key.Id),
        new("tenant", key.Tenant),
        new("name", key.Name),
        new("scopes", string.Join(' ', key.Scopes)),
        new("plan", key.Plan ?? string.Empty),
        new("createdAt", Format(key.CreatedAt)),
        new("expiresAt", key.ExpiresAt is { } expires ? Format(expires) : string.Empty),
    ];

    private static string RedisKey(string hash) => "apikey:" + hash;

    private static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset? ParseTime(string? value) =>
        string.IsNullOrEmpty(value) ? null : DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>What a new key is for.</summary>
public sealed record NewApiKey(string Tenant, string Name, IReadOnlyCollection<string> Scopes, string? Plan = null, DateTimeOffset? ExpiresAt = null);

/// <summary>A stored key, without its secret.</summary>
public sealed record ApiKey(
    string Id,
    string Tenant,
    string Name,
    IReadOnlyList<string> Scopes,
    string? Plan,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt);

/// <summary>A new key, with the secret that is shown only once.</summary>
public sealed record CreatedApiKey(string Key, ApiKey Details);
