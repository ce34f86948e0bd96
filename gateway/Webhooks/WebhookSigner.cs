using System.Security.Cryptography;
using System.Text;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// Standard Webhooks signatures (https://www.standardwebhooks.com): a secret is <c>whsec_</c> and
/// the base64 of its key bytes; a signature is <c>v1,</c> and the base64 HMAC-SHA256, under the
/// key, of <c>{webhook-id}.{webhook-timestamp}.{body}</c>. Several signatures are separated by spaces.
/// </summary>
public static class WebhookSigner
{
    public const string SecretPrefix = "whsec_";

    /// <summary>A fresh secret: 32 random bytes.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The key bytes of a <c>whsec_</c> secret.</summary>
    public static byte[] KeyOf(string secret) => Convert.FromBase64String(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret);

    /// <summary>The <c>webhook-signature</c> value: one <c>v1,</c> signature per secret, space-separated.</summary>
    public static string Sign(IEnumerable<string> secrets, string webhookId, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes($"{webhookId}.{timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return string.Join(' ', secrets.Select(secret => "v1," + Convert.ToBase64String(HMACSHA256.HashData(KeyOf(secret), content))));
    }
}
