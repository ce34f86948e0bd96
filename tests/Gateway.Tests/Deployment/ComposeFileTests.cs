using System.Diagnostics;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Deployment;

[TestFixture]
public sealed class ComposeFileTests
{
    [Test]
    public async Task DockerComposeFile_PassesDockerComposeConfig()
    {
        var info = new ProcessStartInfo("docker-compose", ["-f", Path.Combine(RepoPaths.Root, "docker-compose.yml"), "config", "-q"])
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(process.ExitCode, Is.Zero, await stderr + await stdout);
    }
}
