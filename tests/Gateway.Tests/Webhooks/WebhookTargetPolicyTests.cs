using System.Net;
using InferenceGateway.Gateway.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Tests.Webhooks;

/// <summary>The webhook target policy as configured through the gateway's own options binding and validation.</summary>
[TestFixture]
public sealed class WebhookTargetPolicyTests
{
    [TestCase("127.0.0.1")]
    [TestCase("10.1.2.3")]
    [TestCase("100.64.0.1")]
    [TestCase("169.254.169.254")]
    [TestCase("172.16.0.1")]
    [TestCase("172.31.255.255")]
    [TestCase("192.0.0.8")]
    [TestCase("192.168.0.1")]
    [TestCase("198.18.0.1")]
    [TestCase("::1")]
    [TestCase("fc00::1")]
    [TestCase("fe80::1")]
    [TestCase("::ffff:10.0.0.1")]
    [TestCase("::127.0.0.1")]
    [TestCase("64:ff9b::a9fe:a9fe")]
    [TestCase("2002:7f00:1::")]
    [TestCase("::ffff:0:7f00:1")]
    [TestCase("fec0::1")]
    [TestCase("64:ff9b:1::a00:1")]
    public void PrivateAddresses_AreRefusedByDefault_AndAllowedWithAllowPrivateNetworks(string address)
    {
        var strict = Policy([]);
        var lax = Policy(new() { ["Webhooks:AllowPrivateNetworks"] = "true" });

        Assert.That(strict.CheckAddress(IPAddress.Parse(address)), Is.Not.Null);
        Assert.That(lax.CheckAddress(IPAddress.Parse(address)), Is.Null);
    }

    [TestCase("0.0.0.0")]
    [TestCase("224.0.0.1")]
    [TestCase("240.0.0.1")]
    [TestCase("255.255.255.255")]
    [TestCase("::")]
    [TestCase("ff02::1")]
    [TestCase("100::1")]
    [TestCase("::ffff:0:0:0")]
    public void NonUnicastAddresses_AreRefusedEvenWithAllowPrivateNetworks(string address)
    {
        var lax = Policy(new() { ["Webhooks:AllowPrivateNetworks"] = "true" });

        Assert.That(lax.CheckAddress(IPAddress.Parse(address)), Is.Not.Null);
    }

    [TestCase("93.184.215.14")]
    [TestCase("2606:2800:21f:cb07:6820:80da:af6b:8b2c")]
    [TestCase("172.32.0.1")]
    public void PublicAddresses_AreAllowed(string address) =>
        Assert.That(Policy([]).CheckAddress(IPAddress.Parse(address)), Is.Null);

    [Test]
    public void AllowedNetworks_OpenOnlyThoseNetworks()
    {
        var policy = Policy(new() { ["Webhooks:AllowedNetworks:0"] = "10.1.0.0/16" });

        Assert.That(policy.CheckAddress(IPAddress.Parse("10.1.2.3")), Is.Null);
        Assert.That(policy.CheckAddress(IPAddress.Parse("::ffff:10.1.2.3")), Is.Null);
        Assert.That(policy.CheckAddress(IPAddress.Parse("10.2.0.1")), Is.Not.Null);
    }

    [TestCase("0.0.0.0")]
    [TestCase("224.0.0.1")]
    [TestCase("255.255.255.255")]
    [TestCase("::")]
    [TestCase("ff02::1")]
    [TestCase("::ffff:0.0.0.0")]
    public void AllowedNetworks_CannotOpenTheNeverAllowedRanges(string address)
    {
        var policy = Policy(new() { ["Webhooks:AllowedNetworks:0"] = "0.0.0.0/0", ["Webhooks:AllowedNetworks:1"] = "::/0" });

        Assert.That(policy.CheckAddress(IPAddress.Parse(address)), Does.Contain("not a unicast address"));
        Assert.That(policy.CheckAddress(IPAddress.Parse("10.1.2.3")), Is.Null, "the private ranges are open");
    }

    [Test]
    public void AHostNameResolvingToARefusedAddress_IsRefusedWithoutNamingTheAddress()
    {
        var policy = Policy([]);

        var refused = policy.CheckResolved("internal.example", [IPAddress.Parse("93.184.215.14"), IPAddress.Parse("10.2.3.4")]);

        Assert.That(refused, Does.Contain("'internal.example' resolves to an address webhooks may not reach"));
        Assert.That(refused, Does.Not.Contain("10.2.3.4"));
        Assert.That(policy.CheckResolved("public.example", [IPAddress.Parse("93.184.215.14")]), Is.Null);
    }

    [TestCase("a.example", true)]
    [TestCase("a.example.", true)]
    [TestCase("", false)]
    [TestCase("a..example", false)]
    public void CheckHostName_AcceptsDnsNamesOnly(string host, bool ok) =>
        Assert.That(WebhookTargetPolicy.CheckHostName(host), ok ? Is.Null : Is.Not.Null);

    [Test]
    public void CheckHostName_RefusesNamesAndLabelsLongerThanDnsAllows()
    {
        var label = new string('a', 63);
        Assert.That(WebhookTargetPolicy.CheckHostName(string.Join('.', label, label, label, "b")), Is.Null, "253 characters is the most");
        Assert.That(WebhookTargetPolicy.CheckHostName(string.Join('.', label, label, label, label, label)), Does.Contain("253"));
        Assert.That(WebhookTargetPolicy.CheckHostName(new string('a', 64) + ".example"), Does.Contain("63"));
    }

    [Test]
    public void AllowedHosts_WhenSet_AreTheOnlyHosts()
    {
        var policy = Policy(new() { ["Webhooks:AllowedHosts:0"] = "hooks.example.com" });

        Assert.That(policy.CheckUrl(new Uri("https://hooks.example.com/x")), Is.Null);
        Assert.That(policy.CheckUrl(new Uri("https://HOOKS.example.com/x")), Is.Null);
        Assert.That(policy.CheckUrl(new Uri("https://evil.example.com/x")), Does.Contain("allow-list"));
    }

    [Test]
    public void AllowedSchemes_CanBeNarrowedToHttps()
    {
        var policy = Policy(new() { ["Webhooks:AllowedSchemes:0"] = "https" });

        Assert.That(policy.CheckUrl(new Uri("https://hooks.example.com/x")), Is.Null);
        Assert.That(policy.CheckUrl(new Uri("http://hooks.example.com/x")), Does.Contain("scheme"));
    }

    [Test]
    public void TheDevelopmentEnvironment_AllowsPrivateNetworks_UnlessConfiguredOtherwise()
    {
        Assert.That(Policy([], Environments.Development).CheckAddress(IPAddress.Loopback), Is.Null);
        Assert.That(Policy(new() { ["Webhooks:AllowPrivateNetworks"] = "false" }, Environments.Development).CheckAddress(IPAddress.Loopback), Is.Not.Null);
    }

    [Test]
    public void BadSettings_AreAllReportedAtOnce()
    {
        var services = Services(new()
        {
            ["Webhooks:AllowedNetworks:0"] = "10.0.0.0/33",
            ["Webhooks:AllowedSchemes:0"] = "ftp",
            ["Webhooks:AllowedNetworks:1"] = "not-a-network",
        });

        var error = Assert.Throws<OptionsValidationException>(() => _ = services.GetRequiredService<IOptions<WebhookOptions>>().Value)!;
        Assert.That(error.Failures, Has.Exactly(3).Items);
    }

    private static WebhookTargetPolicy Policy(Dictionary<string, string?> settings, string environment = "Testing") =>
        Services(settings, environment).GetRequiredService<WebhookTargetPolicy>();

    private static ServiceProvider Services(Dictionary<string, string?> settings, string environment = "Testing")
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder(new Microsoft.AspNetCore.Builder.WebApplicationOptions { EnvironmentName = environment });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddWebhooks();
        return builder.Services.BuildServiceProvider();
    }
}
