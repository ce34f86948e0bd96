using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Webhooks;

/// <summary>
/// Standard Webhooks verification written from the specification
/// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md),
/// independent of the gateway's code: the signed content is <c>{webhook-id}.{webhook-timestamp}.{body}</c>,
/// the key is the base64 after <c>whsec_</c>, the signature header is space-separated
/// <c>v1,{base64 HMAC-SHA256}</c> entries, any of which may match; the timestamp must be within 5 minutes.
/// </summary>
public static class StandardWebhooksVerifier
{
    public static bool Verify(string secret, ReceivedWebhook webhook) =>
        Verify(secret, webhook.Header("webhook-id"), webhook.Header("webhook-timestamp"), webhook.Header("webhook-signature"), webhook.Body);

    public static bool Verify(string secret, string id, string timestamp, string signatureHeader, string body)
    {
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - seconds) > 300)
        {
            return false;
        }

        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var expected = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}"));
        foreach (var versioned in signatureHeader.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var comma = versioned.IndexOf(',', StringComparison.Ordinal);
            if (comma < 0 || versioned[..comma] != "v1")
            {
                continue;
            }

            byte[] given;
            try
            {
                given = Convert.FromBase64String(versioned[(comma + 1)..]);
            }
            catch (FormatException)
            {
                continue;
            }

            if (CryptographicOperations.FixedTimeEquals(given, expected))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Verifies with the official <c>standardwebhooks</c> npm package (pinned in package.json), run on
    /// the repository's Node.js; returns null when it verifies, else what it said.
    /// </summary>
    public static async Task<string?> VerifyWithOfficialLibraryAsync(string secret, ReceivedWebhook webhook)
    {
        const string Script = """
            const { Webhook } = require('standardwebhooks');
            let input = '';
            process.stdin.on('data', c => input += c);
            process.stdin.on('end', () => {
              const { secret, headers, body } = JSON.parse(input);
              try { new Webhook(secret).verify(body, headers); console.log('verified'); }
              catch (e) { console.log('refused: ' + e.message); process.exitCode = 1; }
            });
            """;
        var input = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["secret"] = secret,
            ["body"] = webhook.Body,
            ["headers"] = new Dictionary<string, string>
            {
                ["webhook-id"] = webhook.Header("webhook-id"),
                ["webhook-timestamp"] = webhook.Header("webhook-timestamp"),
                ["webhook-signature"] = webhook.Header("webhook-signature"),
            },
        });
        var start = new ProcessStartInfo(RepoPaths.Node)
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-e");
        start.ArgumentList.Add(Script);
        using var node = Process.Start(start)!;
        await node.StandardInput.WriteAsync(input);
        node.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = await node.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = await node.StandardError.ReadToEndAsync(timeout.Token);
        await node.WaitForExitAsync(timeout.Token);
        return node.ExitCode == 0 && output.Trim() == "verified" ? null : (output + error).Trim();
    }
}
