using System.Text.RegularExpressions;

namespace InferenceGateway.Gateway.Auth;

/// <summary>The rules for a new key, shared by the admin API and the CLI.</summary>
public static partial class ApiKeyValidation
{
    /// <summary>Errors by field; empty when the request is valid. <paramref name="knownPlans"/> null skips the plan check.</summary>
    public static Dictionary<string, string[]> Validate(NewApiKey request, IReadOnlyCollection<string>? knownPlans)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!IsTenant(request.Tenant))
        {
            errors["tenant"] = ["'tenant' is required: 1-64 letters, digits, '.', '_' or '-'."];
        }

        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 128)
        {
            errors["name"] = ["'name' is required, at most 128 characters."];
        }

        if (request.Scopes is null || request.Scopes.Count == 0)
        {
            errors["scopes"] = [$"'scopes' needs at least one of: {string.Join(", ", Scopes.All)}."];
        }
        else if (request.Scopes.Any(s => s is null || !Scopes.All.Contains(s)))
        {
            var unknown = request.Scopes.First(s => s is null || !Scopes.All.Contains(s)) ?? "null";
            errors["scopes"] = [$"Unknown scope '{(unknown.Length > 32 ? unknown[..32] : unknown)}'; known: {string.Join(", ", Scopes.All)}."];
        }

        if (request.Plan is { } plan && knownPlans is not null && !knownPlans.Contains(plan))
        {
            errors["plan"] = [$"Unknown plan; known: {string.Join(", ", knownPlans)}."];
        }

        return errors;
    }

    /// <summary>True for a tenant name: 1-64 letters, digits, '.', '_' or '-' (it becomes part of Redis keys and headers).</summary>
    public static bool IsTenant(string? tenant) => TenantPattern().IsMatch(tenant ?? string.Empty);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex TenantPattern();
}
