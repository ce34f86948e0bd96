using System.Security.Claims;
using System.Text.Encodings.Web;
using InferenceGateway.Gateway.Problems;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;key&gt;</c>, or <c>access_token</c> in the query on
/// hub paths (browsers cannot set headers on WebSockets). Failures answer problem+json.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyVerifier keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? presented = null;
        var header = Request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return AuthenticateResult.Fail("The Authorization header must be 'Bearer <key>'.");
            }

            presented = header["Bearer ".Length..].Trim();
        }
        else if (Request.Path.StartsWithSegments("/hubs") && Request.Query.TryGetValue("access_token", out var token))
        {
            presented = token.ToString();
        }

        if (string.IsNullOrEmpty(presented))
        {
            return AuthenticateResult.NoResult();
        }

        if (!ApiKeyStore.LooksLikeKey(presented))
        {
            return AuthenticateResult.Fail(KeyVerdict.Unknown.Failure!);
        }

        var hash = ApiKeyStore.Hash(presented);
        KeyVerdict verdict;
        try
        {
            verdict = await keys.VerifyHashAsync(hash);
        }
        catch (KeyStoreUnavailableException ex)
        {
            // Not a verdict on the key: endpoints that need it answer 503 (see the challenge);
            // anonymous ones (health probes) carry on.
            return AuthenticateResult.Fail(ex);
        }

        if (verdict.Key is not { } key)
        {
            return AuthenticateResult.Fail(verdict.Failure ?? "The API key is not valid.");
        }

        var claims = new List<Claim>
        {
            new(GatewayClaims.Tenant, key.Tenant),
            new(GatewayClaims.KeyId, key.Id),
            new(ClaimTypes.NameIdentifier, key.Id),
            new(GatewayClaims.KeyHash, hash),
        };
        if (key.Plan is { } plan)
        {
            claims.Add(new Claim(GatewayClaims.Plan, plan));
        }

        claims.AddRange(key.Scopes.Select(s => new Claim(GatewayClaims.Scope, s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ClaimTypes.NameIdentifier, null));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        if (result.Failure is KeyStoreUnavailableException)
        {
            Response.Headers.RetryAfter = "2";
            await Problem.Write(Context, StatusCodes.Status503ServiceUnavailable, "Service Unavailable", "API keys cannot be checked right now (Redis is unreachable); retry shortly.");
            return;
        }

        Response.Headers.WWWAuthenticate = "Bearer";
        var detail = result.Failure?.Message ?? "Send an API key as 'Authorization: Bearer <key>'.";
        await Problem.Write(Context, StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Problem.Write(Context, StatusCodes.Status403Forbidden, "Forbidden", "The API key lacks the scope this call needs.");
}
