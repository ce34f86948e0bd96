using System.Collections.Concurrent;
using InferenceGateway.Gateway.Problems;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Auth;

/// <summary>
/// Checks presented keys with a short cache in front of Redis: a verified key is trusted for
/// <see cref="AuthOptions.KeyCacheTtl"/> (at most 1 s), a revocation evicts it on every gateway at
/// once through pub/sub, and while Redis is unreachable a key verified within
/// <see cref="AuthOptions.StaleKeyGrace"/> keeps working (unknown keys get a 503).
/// </summary>
public sealed class ApiKeyVerifier(
    ApiKeyStore store,
    IConnectionMultiplexer redis,
    IOptions<AuthOptions> options,
    TimeProvider time,
    ILogger<ApiKeyVerifier> logger) : IHostedService
{
    private readonly ConcurrentDictionary<string, CachedKey> _cache = new(StringComparer.Ordinal);
    private readonly AuthOptions _options = options.Value;

    /// <summary>Verifies a key by its SHA-256 (see <see cref="ApiKeyStore.Hash"/>), the form a long-lived connection keeps too.</summary>
    public async Task<KeyVerdict> VerifyHashAsync(string hash)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(hash, out var cached) && now - cached.VerifiedAt < _options.KeyCacheTtl)
        {
            return Judge(cached.Key, now);
        }

        ApiKey? key;
        try
        {
            key = await store.FindByHashAsync(hash);
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            if (cached is not null && now - cached.VerifiedAt < _options.StaleKeyGrace)
            {
                Log.StaleKeyUsed(logger, cached.Key.Id);
                return Judge(cached.Key, now);
            }

            throw new KeyStoreUnavailableException(ex);
        }

        if (key is null)
        {
            _cache.TryRemove(hash, out _);
            return KeyVerdict.Unknown;
        }

        _cache[hash] = new CachedKey(key, now);
        return Judge(key, now);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await redis.GetSubscriber().SubscribeAsync(
                RedisChannel.Literal(ApiKeyStore.RevokedChannel),
                (_, hash) => _cache.TryRemove(hash.ToString(), out CachedKey? _));
        }
        catch (Exception ex) when (ProblemsExtensions.IsDependencyFailure(ex))
        {
            // The cache's 1 s lifetime still bounds how long a revoked key works.
            Log.RevocationSubscribeFailed(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static KeyVerdict Judge(ApiKey key, DateTimeOffset now) =>
        key.ExpiresAt is { } expires && expires <= now ? KeyVerdict.Expired : KeyVerdict.Valid(key);

    private sealed record CachedKey(ApiKey Key, DateTimeOffset VerifiedAt);
}

/// <summary>What a presented key turned out to be.</summary>
public sealed record KeyVerdict(ApiKey? Key, string? Failure)
{
    public static readonly KeyVerdict Unknown = new(null, "The API key is not valid.");
    public static readonly KeyVerdict Expired = new(null, "The API key has expired.");

    public static KeyVerdict Valid(ApiKey key) => new(key, null);
}

/// <summary>The key store could not be asked; the caller is neither accepted nor refused.</summary>
public sealed class KeyStoreUnavailableException(Exception inner)
    : Exception("The API key store is unreachable.", inner);
