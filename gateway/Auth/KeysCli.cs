using System.Globalization;
using InferenceGateway.Core.Redis;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Auth;

/// <summary>
/// Key management from the shell, against the configured Redis:
/// <c>keys create --tenant T [--name N] [--scopes a,b] [--plan P] [--expires ISO-8601]</c> prints only
/// the key (for scripts); <c>keys list [--tenant T]</c>; <c>keys revoke ID</c>.
/// </summary>
public static class KeysCli
{
    private const string Usage = """
        usage: keys create --tenant <tenant> [--name <name>] [--scopes jobs:read,jobs:write] [--plan <plan>] [--expires <ISO-8601>]
               keys list [--tenant <tenant>]
               keys revoke <key id>
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not ["keys", var verb, .. var rest])
        {
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }

        var configuration = new ConfigurationBuilder()
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
        var redisConfig = configuration[$"{RedisOptions.Section}:{nameof(RedisOptions.Configuration)}"] ?? new RedisOptions().Configuration;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisConfig);
        var store = new ApiKeyStore(redis, TimeProvider.System);
        return verb switch
        {
            "create" => await CreateAsync(store, rest),
            "list" => await ListAsync(store, rest),
            "revoke" when rest is [var id] => await RevokeAsync(store, id),
            _ => await FailAsync(Usage),
        };
    }

    private static async Task<int> CreateAsync(ApiKeyStore store, string[] args)
    {
        if (!TryParseOptions(args, out var options))
        {
            return await FailAsync(Usage);
        }

        DateTimeOffset? expires = null;
        if (options.TryGetValue("--expires", out var expiresText))
        {
            if (!DateTimeOffset.TryParse(expiresText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                return await FailAsync($"--expires '{expiresText}' is not an ISO-8601 time");
            }

            expires = parsed;
        }

        var request = new NewApiKey(
            options.GetValueOrDefault("--tenant") ?? string.Empty,
            options.GetValueOrDefault("--name") ?? "cli",
            (options.GetValueOrDefault("--scopes") ?? $"{Scopes.JobsRead},{Scopes.JobsWrite}").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            options.GetValueOrDefault("--plan"),
            expires);
        if (ApiKeyValidation.Validate(request, knownPlans: null) is { Count: > 0 } errors)
        {
            return await FailAsync(string.Join(Environment.NewLine, errors.SelectMany(e => e.Value)));
        }

        var created = await store.CreateAsync(request);
        await Console.Error.WriteLineAsync($"created {created.Details.Id} for tenant {created.Details.Tenant} with scopes {string.Join(",", created.Details.Scopes)}");
        Console.WriteLine(created.Key);
        return 0;
    }

    private static async Task<int> ListAsync(ApiKeyStore store, string[] args)
    {
        if (!TryParseOptions(args, out var options))
        {
            return await FailAsync(Usage);
        }

        foreach (var key in await store.ListAsync(options.GetValueOrDefault("--tenant")))
        {
            Console.WriteLine(string.Join('\t', key.Id, key.Tenant, key.Name, string.Join(',', key.Scopes), key.Plan ?? "-", key.CreatedAt.ToString("O", CultureInfo.InvariantCulture), key.ExpiresAt?.ToString("O", CultureInfo.InvariantCulture) ?? "-"));
        }

        return 0;
    }

    private static async Task<int> RevokeAsync(ApiKeyStore store, string id)
    {
        if (!await store.RevokeAsync(id))
        {
            return await FailAsync($"no key {id}");
        }

        await Console.Error.WriteLineAsync($"revoked {id}");
        return 0;
    }

    private static bool TryParseOptions(string[] args, out Dictionary<string, string> options)
    {
        options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (args.Length % 2 != 0)
        {
            return false;
        }

        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return false;
            }

            options[args[i]] = args[i + 1];
        }

        return true;
    }

    private static async Task<int> FailAsync(string message)
    {
        await Console.Error.WriteLineAsync(message);
        return 2;
    }
}
