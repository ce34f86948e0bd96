using System.Globalization;

namespace InferenceGateway.Tests.Infrastructure;

/// <summary>
/// The real gateway as its own OS process (the built InferenceGateway.Gateway.dll) on a port the
/// test chooses, for what an in-process server cannot show: being killed with SIGKILL and started
/// again at the same address.
/// </summary>
public static class GatewayProcess
{
    /// <summary>The gateway's own build output, in the configuration the tests were built in.</summary>
    public static string Directory { get; } = Path.Combine(
        RepoPaths.Root,
        "gateway",
        "bin",
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name,
        new DirectoryInfo(AppContext.BaseDirectory).Name);

    /// <summary>Starts the gateway with <paramref name="configuration"/> (as environment variables) and waits until it listens on <paramref name="port"/>.</summary>
    public static Task<ExternalProcess> StartAsync(IDictionary<string, string?> configuration, int port)
    {
        var environment = configuration.ToDictionary(e => e.Key.Replace(":", "__", StringComparison.Ordinal), e => e.Value ?? string.Empty);
        environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        return ExternalProcess.StartAsync(
            "dotnet",
            p => [Path.Combine(Directory, "InferenceGateway.Gateway.dll"), "--contentRoot", Directory, "--urls", $"http://127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}"],
            environment,
            port);
    }
}
