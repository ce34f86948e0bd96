using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace InferenceGateway.Gateway.Auth;

public static class AuthExtensions
{
    /// <summary>
    /// API-key authentication, JWT bearer beside it when <c>Jwt:Issuer</c> is set, and one
    /// authorization policy per scope.
    /// </summary>
    public static WebApplicationBuilder AddApiKeyAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // TryAdd: a test may put its own in first (one with a held clock, to show revocation does not wait for the cache's expiry).
        builder.Services.TryAddSingleton<ApiKeyVerifier>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ApiKeyVerifier>());
        var jwt = JwtOptions.IsEnabled(builder.Configuration);
        var defaultScheme = jwt ? JwtAuthentication.SelectorSchemeName : ApiKeyAuthenticationHandler.SchemeName;
        var authentication = builder.Services
            .AddAuthentication(defaultScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        if (jwt)
        {
            authentication.AddGatewayJwt();
        }

        // Each policy authenticates with the default scheme only: with JWT on, that is the selector,
        // so either credential passes and exactly one handler answers the challenge or the 403.
        var authorization = builder.Services.AddAuthorizationBuilder();
        foreach (var scope in Scopes.All)
        {
            authorization.AddPolicy(scope, policy => policy
                .AddAuthenticationSchemes(defaultScheme)
                .RequireAuthenticatedUser()
                .RequireClaim(GatewayClaims.Scope, scope));
        }

        return builder;
    }
}
