using System.Text;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Auth;

/// <summary>
/// Optional JWT bearer authentication beside API keys. Section <c>Jwt</c>; off unless
/// <see cref="Issuer"/> is set.
/// </summary>
public sealed record JwtOptions
{
    public const string Section = "Jwt";

    /// <summary>Prefix of a <see cref="SigningKey"/> given as base64 rather than as text.</summary>
    public const string Base64Prefix = "base64:";

    /// <summary>Fewest key bytes HS256 accepts here (RFC 7518 §3.2: at least the hash size).</summary>
    public const int MinimumKeyBytes = 32;

    /// <summary>The <c>iss</c> every token must carry; empty turns JWT off.</summary>
    public string? Issuer { get; init; }

    /// <summary>The <c>aud</c> every token must carry.</summary>
    public string? Audience { get; init; }

    /// <summary>
    /// The HS256 key: its UTF-8 bytes, or, after a <c>base64:</c> prefix, the bytes the base64
    /// decodes to. At least 32 bytes either way.
    /// </summary>
    public string? SigningKey { get; init; }

    /// <summary>The token claim that names the caller's tenant.</summary>
    public string TenantClaim { get; init; } = "tenant";

    /// <summary>The token claim with the caller's scopes, space-separated (OAuth); <c>scp</c> as a JSON array is read too.</summary>
    public string ScopeClaim { get; init; } = "scope";

    /// <summary>Tolerance on <c>exp</c> and <c>nbf</c>.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>True when the configuration turns JWT on.</summary>
    public static bool IsEnabled(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[$"{Section}:{nameof(Issuer)}"]);

    /// <summary>The key's bytes, or null when it is missing or not valid base64.</summary>
    public byte[]? SigningKeyBytes()
    {
        if (string.IsNullOrEmpty(SigningKey))
        {
            return null;
        }

        if (!SigningKey.StartsWith(Base64Prefix, StringComparison.Ordinal))
        {
            return Encoding.UTF8.GetBytes(SigningKey);
        }

        try
        {
            return Convert.FromBase64String(SigningKey[Base64Prefix.Length..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>Reports every bad <c>Jwt</c> setting at once, and only when JWT is on.</summary>
public sealed class JwtOptionsValidator : IValidateOptions<JwtOptions>
{
    public ValidateOptionsResult Validate(string? name, JwtOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Issuer))
        {
            return ValidateOptionsResult.Skip;
        }

        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            errors.Add("Jwt:Audience is required when Jwt:Issuer is set.");
        }

        var key = options.SigningKeyBytes();
        if (string.IsNullOrEmpty(options.SigningKey))
        {
            errors.Add("Jwt:SigningKey is required when Jwt:Issuer is set.");
        }
        else if (key is null)
        {
            errors.Add($"Jwt:SigningKey starts with '{JwtOptions.Base64Prefix}' but the rest is not valid base64.");
        }
        else if (key.Length < JwtOptions.MinimumKeyBytes)
        {
            errors.Add($"Jwt:SigningKey is {key.Length} bytes; HS256 needs at least {JwtOptions.MinimumKeyBytes}.");
        }

        if (string.IsNullOrWhiteSpace(options.TenantClaim))
        {
            errors.Add("Jwt:TenantClaim must name a claim.");
        }

        if (string.IsNullOrWhiteSpace(options.ScopeClaim))
        {
            errors.Add("Jwt:ScopeClaim must name a claim.");
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(5))
        {
            errors.Add("Jwt:ClockSkew must be between 00:00:00 and 00:05:00.");
        }

        return errors.Count > 0 ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}
