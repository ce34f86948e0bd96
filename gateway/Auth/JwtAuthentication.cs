using System.Security.Claims;
using InferenceGateway.Gateway.Problems;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace InferenceGateway.Gateway.Auth;

/// <summary>
/// Optional JWT bearer beside API keys. A policy scheme looks at the presented credential and
/// forwards to <see cref="SchemeName"/> when it is shaped like a JWT, to the API-key handler
/// otherwise. A validated token's claims are replaced by the ones the gateway reads
/// (<see cref="GatewayClaims"/>), so a token cannot smuggle in a tenant under another name.
/// </summary>
public static class JwtAuthentication
{
    /// <summary>The scheme of the JWT bearer handler.</summary>
    public const string SchemeName = JwtBearerDefaults.AuthenticationScheme;

    /// <summary>The default scheme while JWT is on: picks <see cref="SchemeName"/> or the API-key scheme per request.</summary>
    public const string SelectorSchemeName = "ApiKeyOrJwt";

    private const string HubsPath = "/hubs";
    private const string BearerPrefix = "Bearer ";

    /// <summary>Registers the JWT handler, its options (validated on start) and the selecting policy scheme.</summary>
    public static AuthenticationBuilder AddGatewayJwt(this AuthenticationBuilder authentication)
    {
        authentication.Services.AddSingleton<IValidateOptions<JwtOptions>, JwtOptionsValidator>();
        authentication.Services.AddOptions<JwtOptions>()
            .BindConfiguration(JwtOptions.Section)
            .ValidateOnStart();
        authentication.Services.AddOptions<JwtBearerOptions>(SchemeName)
            .Configure<IOptions<JwtOptions>>((bearer, jwt) => Configure(bearer, jwt.Value));
        authentication.AddJwtBearer(SchemeName);
        authentication.AddPolicyScheme(SelectorSchemeName, "API key or JWT", options => options.ForwardDefaultSelector = SelectScheme);
        return authentication;
    }

    /// <summary>Three base64url segments separated by dots; the last may be empty (an unsigned token, refused later).</summary>
    public static bool LooksLikeJwt(string credential)
    {
        var segments = credential.Split('.');
        return segments.Length == 3
            && segments[0].Length > 0
            && segments[1].Length > 0
            && segments.All(segment => segment.All(IsBase64UrlChar));
    }

    private static bool IsBase64UrlChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    private static string SelectScheme(HttpContext context)
    {
        var presented = PresentedCredential(context.Request);
        return presented is not null && LooksLikeJwt(presented) ? SchemeName : ApiKeyAuthenticationHandler.SchemeName;
    }

    /// <summary>The bearer credential, from the header or, on hub paths, from <c>access_token</c>.</summary>
    private static string? PresentedCredential(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            return header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) ? header[BearerPrefix.Length..].Trim() : null;
        }

        return request.Path.StartsWithSegments(HubsPath) && request.Query.TryGetValue("access_token", out var token)
            ? token.ToString()
            : null;
    }

    private static void Configure(JwtBearerOptions bearer, JwtOptions jwt)
    {
        // Keep claim names as they are in the token ("sub", "scope"), not the WS-Fed URIs.
        bearer.MapInboundClaims = false;
        bearer.IncludeErrorDetails = true;
        bearer.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = jwt.Issuer,
            ValidateAudience = true,
            ValidAudience = jwt.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = jwt.ClockSkew,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            IssuerSigningKey = new SymmetricSecurityKey(jwt.SigningKeyBytes() ?? throw new InvalidOperationException("Jwt:SigningKey is not valid.")),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        };
        bearer.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                // Browsers cannot set headers on WebSockets; the hub takes the token from the query.
                if (context.Request.Headers.Authorization.Count == 0
                    && context.Request.Path.StartsWithSegments(HubsPath)
                    && context.Request.Query.TryGetValue("access_token", out var token))
                {
                    context.Token = token.ToString();
                }

                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                MapClaims(context, jwt);
                return Task.CompletedTask;
            },
            OnChallenge = WriteChallengeAsync,
            OnForbidden = context => Problem.Write(context.HttpContext, StatusCodes.Status403Forbidden, "Forbidden", "The token lacks the scope this call needs."),
        };
    }

    /// <summary>Replaces the token's claims with the gateway's: tenant, one claim per scope, key id.</summary>
    private static void MapClaims(TokenValidatedContext context, JwtOptions jwt)
    {
        var token = context.Principal!;
        var tenants = token.FindAll(jwt.TenantClaim).Select(c => c.Value).ToList();
        if (tenants is not [var tenant] || string.IsNullOrWhiteSpace(tenant))
        {
            context.Fail($"The token must carry exactly one non-empty '{jwt.TenantClaim}' claim.");
            return;
        }

        if (!ApiKeyValidation.IsTenant(tenant))
        {
            context.Fail($"The '{jwt.TenantClaim}' claim must be 1-64 letters, digits, '.', '_' or '-'.");
            return;
        }

        var subject = token.FindFirst("sub")?.Value;
        var keyId = "jwt:" + (token.FindFirst("jti")?.Value ?? subject ?? "anonymous");
        var scopes = token.FindAll(jwt.ScopeClaim).Concat(token.FindAll("scp"))
            .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Distinct(StringComparer.Ordinal)

            // admin manages keys of every tenant: an operator's API key, never a tenant's token.
            .Where(scope => scope != Scopes.Admin);

        var claims = new List<Claim>
        {
            new(GatewayClaims.Tenant, tenant),
            new(GatewayClaims.KeyId, keyId),
            new(ClaimTypes.NameIdentifier, subject ?? keyId),
        };
        claims.AddRange(scopes.Select(s => new Claim(GatewayClaims.Scope, s)));
        context.Principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ClaimTypes.NameIdentifier, null));
    }

    /// <summary>401 problem+json with <c>WWW-Authenticate: Bearer error="invalid_token"</c>, never the handler's bare 401.</summary>
    private static async Task WriteChallengeAsync(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        string detail;
        if (context.AuthenticateFailure is { } failure)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            detail = !string.IsNullOrEmpty(context.ErrorDescription) ? context.ErrorDescription + "."
                : failure is AuthenticationFailureException ? failure.Message
                : "The token is not valid.";
        }
        else
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            detail = "Send a JWT or an API key as 'Authorization: Bearer <token>'.";
        }

        await Problem.Write(context.HttpContext, StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }
}
