using InferenceGateway.Core.Redis;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Auth;

/// <summary>
/// <c>keys create --tenant T [--name N] [--scopes a,b]</c>: creates an API key in the configured
/// Redis and prints only the key on standard output, for scripts.
/// </summary>
public static class KeysCli
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not ["keys", "create", .. var rest])
        {
            await Console.Error.WriteLineAsync("usage: keys create --tenant <tenant> [--name <name>] [--scopes jobs:read,jobs:write]");
            return 2;
        }

        string? tenant = null, name = null, scopes = null;
        for (var i = 0; i + 1 < rest.Length; i += 2)
        {
            switch (rest[i])
            {
                case "--tenant": tenant = rest[i + 1]; break;
                case "--name": name = rest[i + 1]; break;
                case "--scopes": scopes = rest[i + 1]; break;
                default:
                    await Console.Error.WriteLineAsync($"unknown option {rest[i]}");
                    return 2;
            }
        }

        if (string.IsNullOrWhiteSpace(tenant))
        {
            await Console.Error.WriteLineAsync("--tenant is required");
            return 2;
        }

        var scopeList = (scopes ?? $"{Scopes.JobsRead},{Scopes.JobsWrite}").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (scopeList.FirstOrDefault(s => !Scopes.All.Contains(s)) is { } unknown)
        {
            await Console.Error.WriteLineAsync($"unknown scope '{unknown}'; known: {string.Join(", ", Scopes.All)}");
            return 2;
        }

        var configuration = new ConfigurationBuilder()
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();
        var redisConfig = configuration[$"{RedisOptions.Section}:{nameof(RedisOptions.Configuration)}"] ?? new RedisOptions().Configuration;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisConfig);
        var created = await new ApiKeyStore(redis, TimeProvider.System).CreateAsync(tenant, name ?? "cli", scopeList);
        await Console.Error.WriteLineAsync($"created {created.Id} for tenant {created.Tenant} with scopes {string.Join(",", created.Scopes)}");
        Console.WriteLine(created.Key);
        return 0;
    }
}
