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
/// Never allowed: unspecified, broadcast, multicast and reserved addresses. Allowed only with
/// <see cref="WebhookOptions.AllowPrivateNetworks"/> or when inside <see cref="WebhookOptions.AllowedNetworks"/>:
/// loopback, RFC 1918, shared (CGNAT), link-local (cloud metadata), benchmarking and IETF
/// protocol ranges, IPv6 unique-local and link-local. IPv4 addresses written as IPv6 (mapped,
/// compatible, NAT64, 6to4) are judged as the IPv4 address they carry.
/// </remarks>
public sealed class WebhookTargetPolicy
{
    private static readonly IPNetwork[] Never =
    [
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("224.0.0.0/4"),
        IPNetwork.Parse("240.0.0.0/4"),
        IPNetwork.Parse("::/128"),
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
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");

    private readonly IOptionsMonitor<WebhookOptions> _options;
    private readonly bool _privateByDefault;

    public WebhookTargetPolicy(IOptionsMonitor<WebhookOptions> options, IHostEnvironment environment)
    {
        _options = options;
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

    /// <summary>Null when a webhook may connect to <paramref name="address"/>, else why not.</summary>
    public string? CheckAddress(IPAddress address)
    {
        var options = _options.CurrentValue;
        var judged = Embedded(address);
        foreach (var network in options.AllowedNetworks)
        {
            if (IPNetwork.TryParse(network, out var allowed) && (allowed.Contains(address) || allowed.Contains(judged)))
            {
                return null;
            }
        }

        if (judged.Equals(IPAddress.Broadcast) || Never.Any(n => n.Contains(judged)))
        {
            return $"The address {address} is not a unicast address a webhook may target.";
        }

        if (!(options.AllowPrivateNetworks ?? _privateByDefault) && Private.Any(n => n.Contains(judged)))
        {
            return $"The address {address} is in a private, loopback or link-local range; webhooks may not target it.";
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

        try
        {
            var addresses = await ResolveAsync(url.IdnHost, cancellationToken);
            return addresses.Length == 0
                ? $"The host '{url.IdnHost}' has no addresses."
                : addresses.Select(CheckAddress).FirstOrDefault(reason => reason is not null);
        }
        catch (SocketException)
        {
            return $"The host '{url.IdnHost}' could not be resolved.";
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

    /// <summary>The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), or the address itself.</summary>
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
        if (Nat64.Contains(address) || (bytes.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0 && !address.Equals(IPAddress.IPv6Loopback) && !address.Equals(IPAddress.IPv6Any)))
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
