using System.Globalization;

namespace InferenceGateway.Gateway.Chat;

/// <summary>What an RFC 7240 <c>Prefer</c> header asks of a <c>stream: false</c> request: how long to wait, or to answer at once.</summary>
internal readonly record struct PreferHeader(long WaitSeconds, bool RespondAsync, bool Invalid)
{
    /// <summary>RFC 7240 <c>Prefer</c>: <c>wait=N</c> and <c>respond-async</c>; other preferences are ignored.</summary>
    public static PreferHeader? Parse(string header)
    {
        if (header.Length == 0)
        {
            return null;
        }

        PreferHeader? found = null;
        foreach (var preference in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var token = preference.Split(';', 2)[0].Trim();
            var (name, value) = token.IndexOf('=', StringComparison.Ordinal) is var eq and >= 0
                ? (token[..eq].Trim(), token[(eq + 1)..].Trim().Trim('"'))
                : (token, null);
            if (name.Equals("respond-async", StringComparison.OrdinalIgnoreCase))
            {
                found = (found ?? new PreferHeader()) with { RespondAsync = true };
            }
            else if (name.Equals("wait", StringComparison.OrdinalIgnoreCase))
            {
                found = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                    ? (found ?? new PreferHeader()) with { WaitSeconds = seconds }
                    : (found ?? new PreferHeader()) with { Invalid = true };
            }
        }

        return found;
    }
}
