using System.Diagnostics;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Deployment;

[TestFixture]
public sealed class ComposeFileTests
{
    [Test]
    public Task DockerComposeFile_PassesDockerComposeConfig() => AssertConfigPassesAsync("docker-compose.yml");

    [Test]
    public Task DockerComposeFile_WithTheGpuOverride_PassesDockerComposeConfig() => AssertConfigPassesAsync("docker-compose.yml", "docker-compose.gpu.yml");

    private static async Task AssertConfigPassesAsync(params string[] files)
    {
        var info = new ProcessStartInfo("docker-compose")
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var file in files)
        {
            info.ArgumentList.Add("-f");
            info.ArgumentList.Add(Path.Combine(RepoPaths.Root, file));
        }

        info.ArgumentList.Add("config");
        info.ArgumentList.Add("-q");
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(process.ExitCode, Is.Zero, await stderr + await stdout);
    }
}
