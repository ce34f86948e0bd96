using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Auth;

/// <summary>
/// API keys in Redis. A key is shown once, at creation; Redis holds only its SHA-256 hash (a
/// high-entropy random key needs no slow hash), under <c>apikey:{hash}</c>.
/// </summary>
public sealed class ApiKeyStore(IConnectionMultiplexer redis, TimeProvider time)
{
    private const string KeyPrefix = "igw_";

    /// <summary>Creates a key for <paramref name="tenant"/> and returns it with the secret, which is not stored.</summary>
    public async Task<CreatedApiKey> CreateAsync(string tenant, string name, IReadOnlyCollection<string> scopes)
    {
        var secret = KeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var id = "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var createdAt = time.GetUtcNow();
        await redis.GetDatabase().HashSetAsync(
            RedisKey(secret),
            [
                new("id", id),
                new("tenant", tenant),
                new("name", name),
                new("scopes", string.Join(' ', scopes)),
                new("createdAt", createdAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)),
            ]);
        return new CreatedApiKey(id, secret, tenant, name, scopes, createdAt);
    }

    /// <summary>Finds the key a caller presented, or null when it is unknown.</summary>
    public async Task<ApiKey?> FindAsync(string presented)
    {
        if (presented.Length is < 8 or > 256 || !presented.StartsWith(KeyPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var fields = await redis.GetDatabase().HashGetAsync(RedisKey(presented), ["id", "tenant", "scopes"]);
        if (fields[0].IsNull || fields[1].IsNull)
        {
            return null;
        }

        var scopes = fields[2].IsNull ? [] : fields[2].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new ApiKey(fields[0].ToString(), fields[1].ToString(), scopes);
    }

    private static string RedisKey(string secret) =>
        "apikey:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>A verified key: who it belongs to and what it may do.</summary>
public sealed record ApiKey(string Id, string Tenant, IReadOnlyList<string> Scopes);

/// <summary>A new key, with the secret that is shown only once.</summary>
public sealed record CreatedApiKey(string Id, string Key, string Tenant, string Name, IReadOnlyCollection<string> Scopes, DateTimeOffset CreatedAt);
