namespace InferenceGateway.Gateway.Auth;

/// <summary>What a key may do; also the names of the authorization policies that require them.</summary>
public static class Scopes
{
    public const string JobsRead = "jobs:read";
    public const string JobsWrite = "jobs:write";
    public const string Admin = "admin";

    /// <summary>Read and rotate the tenant's webhook signing secret (whoever holds it can forge deliveries, so not implied by jobs:write).</summary>
    public const string Webhooks = "webhooks";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { JobsRead, JobsWrite, Admin, Webhooks };
}

/// <summary>Claim types the gateway puts on an authenticated caller.</summary>
public static class GatewayClaims
{
    public const string Tenant = "tenant";
    public const string Scope = "scope";
    public const string KeyId = "key_id";
    public const string Plan = "plan";

    /// <summary>The SHA-256 of the API key a caller presented, so a long-lived hub connection can re-check it.</summary>
    public const string KeyHash = "key_hash";
}
