using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Gateway.Auth;

/// <summary>How keys are checked. Section <c>Auth</c>.</summary>
public sealed record AuthOptions
{
    public const string Section = "Auth";

    /// <summary>How long a verified key is trusted without asking Redis; at most 1 s, the revocation promise.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan KeyCacheTtl { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>While Redis is unreachable, keys verified within this window keep working from the cache.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan StaleKeyGrace { get; init; } = TimeSpan.FromMinutes(5);
}
