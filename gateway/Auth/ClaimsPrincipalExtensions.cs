using System.Security.Claims;

namespace InferenceGateway.Gateway.Auth;

/// <summary>What the gateway reads from an authenticated caller's claims.</summary>
public static class ClaimsPrincipalExtensions
{
    /// <summary>The caller's tenant: every key and token the gateway accepts carries one.</summary>
    /// <exception cref="InvalidOperationException">The caller has no tenant claim (not authenticated by this gateway).</exception>
    public static string Tenant(this ClaimsPrincipal user) =>
        user.FindFirst(GatewayClaims.Tenant)?.Value ?? throw new InvalidOperationException("Authenticated caller without a tenant.");

    /// <summary>The caller's tenant, or null for a caller without one (anonymous).</summary>
    public static string? TenantOrNull(this ClaimsPrincipal user) => user.FindFirst(GatewayClaims.Tenant)?.Value;
}
