using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// Where webhooks may go, so the gateway cannot be used for server-side request forgery. Checked
/// when a job is submitted (the URL, and every address its host name resolves to) and again when a
/// delivery connects (the addresses resolved then, which are the ones connected to), so a name that
/// resolves elsewhere later (DNS rebinding) or a policy tightened since is still refused.
/// </summary>
/// <remarks>
/// Never allowed: unspecified, broadcast, multicast, reserved and discard-only addresses. Allowed only with
/// <see cref="WebhookOptions.AllowPrivateNetworks"/> or when inside <see cref="WebhookOptions.AllowedNetworks"/>:
/// loopback, RFC 1918, shared (CGNAT), link-local (cloud metadata), benchmarking and IETF
/// protocol ranges, IPv6 unique-local, link-local, site-local and local-use NAT64. IPv4 addresses written as IPv6 (mapped,
/// compatible, translated, NAT64, 6to4) are judged as the IPv4 address they carry; the never-allowed
/// ranges are checked first, so <see cref="WebhookOptions.AllowedNetworks"/> cannot open them.
/// </remarks>
public sealed class WebhookTargetPolicy
{
    private static readonly IPNetwork[] Never =
    [
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("224.0.0.0/4"),
        IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"),
        IPNetwork.Parse("100::/64"), // discard-only
        IPNetwork.Parse("ff00::/8"),
    ];

    private static readonly IPNetwork[] Private =
    [
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"),
        IPNetwork.Parse("::1/128"),
        IPNetwork.Parse("fc00::/7"),
        IPNetwork.Parse("fe80::/10"),
        IPNetwork.Parse("fec0::/10"), // deprecated site-local
        IPNetwork.Parse("64:ff9b:1::/48"), // local-use NAT64: where the IPv4 address sits depends on the operator's prefix length
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork Translated = IPNetwork.Parse("::ffff:0:0:0/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");

    /// <summary>The longest DNS name (RFC 1035), without the trailing dot.</summary>
    public const int MaxHostNameLength = 253;

    /// <summary>The longest label of a DNS name (RFC 1035).</summary>
    public const int MaxLabelLength = 63;

    private readonly IOptionsMonitor<WebhookOptions> _options;
    private readonly ILogger<WebhookTargetPolicy> _logger;
    private readonly bool _privateByDefault;

    public WebhookTargetPolicy(IOptionsMonitor<WebhookOptions> options, IHostEnvironment environment, ILogger<WebhookTargetPolicy> logger)
    {
        _options = options;
        _logger = logger;
        _privateByDefault = environment.IsDevelopment();
    }

    /// <summary>Checks what the URL itself shows (scheme, user info, host list, a literal address); null when allowed, else why not.</summary>
    public string? CheckUrl(Uri url)
    {
        var options = _options.CurrentValue;
        var schemes = options.AllowedSchemes.Count > 0 ? options.AllowedSchemes : ["http", "https"];
        if (url.Scheme is not ("http" or "https") || !schemes.Contains(url.Scheme, StringComparer.OrdinalIgnoreCase))
        {
            return $"The scheme '{url.Scheme}' is not allowed; use {string.Join(" or ", schemes)}.";
        }

        if (url.UserInfo.Length > 0)
        {
            return "The URL must not carry user information (user:password@).";
        }

        return CheckHost(url.IdnHost);
    }

    /// <summary>Checks a host name or IP literal against <see cref="WebhookOptions.AllowedHosts"/> and, for a literal, the address rules.</summary>
    public string? CheckHost(string host)
    {
        host = host.Trim('[', ']');
        var allowedHosts = _options.CurrentValue.AllowedHosts;
        if (allowedHosts.Count > 0 && !allowedHosts.Contains(host, StringComparer.OrdinalIgnoreCase))
        {
            return $"The host '{host}' is not on the webhook allow-list.";
        }

        return IPAddress.TryParse(host, out var address) ? CheckAddress(address) : null;
    }

    /// <summary>
    /// Null when a webhook may connect to <paramref name="address"/>, else why not (naming the
    /// address: for a literal in the URL, or for the server's log). The never-allowed ranges are
    /// checked first, so no <see cref="WebhookOptions.AllowedNetworks"/> entry opens them.
    /// </summary>
    public string? CheckAddress(IPAddress address)
    {
        var options = _options.CurrentValue;
        var judged = Embedded(address);
        if (judged.Equals(IPAddress.Broadcast) || Never.Any(n => n.Contains(judged) || n.Contains(address)))
        {
            return $"The address {address} is not a unicast address a webhook may target.";
        }

        foreach (var network in options.AllowedNetworks)
        {
            if (IPNetwork.TryParse(network, out var allowed) && (allowed.Contains(address) || allowed.Contains(judged)))
            {
                return null;
            }
        }

        if (!(options.AllowPrivateNetworks ?? _privateByDefault) && Private.Any(n => n.Contains(judged)))
        {
            return $"The address {address} is in a private, loopback or link-local range; webhooks may not target it.";
        }

        return null;
    }

    /// <summary>
    /// Checks the addresses <paramref name="host"/> resolved to; null when all are allowed. The
    /// refusal does not name the address (that would show a caller the internal DNS); the detail
    /// goes to the server's log.
    /// </summary>
    public string? CheckResolved(string host, IReadOnlyList<IPAddress> addresses)
    {
        foreach (var address in addresses)
        {
            if (CheckAddress(address) is { } refused)
            {
                WebhookLog.HostRefused(_logger, host, refused);
                return $"The host '{host}' resolves to an address webhooks may not reach.";
            }
        }

        return null;
    }

    /// <summary>Null when <paramref name="host"/> (IDN-encoded, not a literal) is a DNS name that may be resolved, else why not.</summary>
    public static string? CheckHostName(string host)
    {
        var name = host.EndsWith('.') ? host[..^1] : host;
        if (name.Length is 0 or > MaxHostNameLength)
        {
            return $"The host name is {name.Length} characters long; at most {MaxHostNameLength} are allowed.";
        }

        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > MaxLabelLength)
            {
                return $"The host name has a label of {label.Length} characters; each must have 1 to {MaxLabelLength}.";
            }
        }

        return null;
    }

    /// <summary>
    /// Resolves the URL's host and checks every address it has (all must be allowed), after <see cref="CheckUrl"/>.
    /// Null when allowed, else why not.
    /// </summary>
    public async Task<string?> CheckAsync(Uri url, CancellationToken cancellationToken)
    {
        if (CheckUrl(url) is { } refused)
        {
            return refused;
        }

        if (url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            return null;
        }

        if (CheckHostName(url.IdnHost) is { } badName)
        {
            return badName;
        }

        try
        {
            var addresses = await ResolveAsync(url.IdnHost, cancellationToken);
            return addresses.Length == 0
                ? $"The host '{url.IdnHost}' has no addresses."
                : CheckResolved(url.IdnHost, addresses);
        }
        catch (SocketException)
        {
            return $"The host '{url.IdnHost}' could not be resolved.";
        }
        catch (ArgumentException)
        {
            // Dns refuses some names outright (too long, bad characters) rather than looking them up.
            return $"The host '{url.IdnHost}' is not a name that can be resolved.";
        }
    }

    /// <summary>A host's addresses: the literal itself, or what DNS answers (within 5 s).</summary>
    public static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        host = host.Trim('[', ']');
        if (IPAddress.TryParse(host, out var literal))
        {
            return [literal];
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            return await Dns.GetHostAddressesAsync(host, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SocketException((int)SocketError.TimedOut);
        }
    }

    /// <summary>The IPv4 address an IPv6 address carries (mapped, compatible, translated, NAT64, 6to4), or the address itself.</summary>
    public static IPAddress Embedded(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        var bytes = address.GetAddressBytes();
        if (Nat64.Contains(address) || Translated.Contains(address) || (bytes.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0 && !address.Equals(IPAddress.IPv6Loopback) && !address.Equals(IPAddress.IPv6Any)))
        {
            return new IPAddress(bytes.AsSpan(12, 4));
        }

        if (SixToFour.Contains(address))
        {
            return new IPAddress(bytes.AsSpan(2, 4));
        }

        return address;
    }
}

/// <summary>Rejects <see cref="WebhookOptions.AllowedNetworks"/> entries that are not CIDR networks, all at once.</summary>
public sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var failures = new List<string>();
        foreach (var network in options.AllowedNetworks)
        {
            if (!IPNetwork.TryParse(network, out _))
            {
                failures.Add($"Webhooks:AllowedNetworks: '{network}' is not a network in CIDR notation (such as 10.1.0.0/16).");
            }
        }

        foreach (var scheme in options.AllowedSchemes)
        {
            if (scheme is not ("http" or "https"))
            {
                failures.Add($"Webhooks:AllowedSchemes: '{scheme}' is not supported; only http and https are.");
            }
        }

        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
