using System.Diagnostics;
using System.Text;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Deployment;

/// <summary>
/// The short fault soak (<c>bench/FaultSoak --short</c>, as built with the solution) as part of the
/// suite: the whole stack as real processes under a mixed load while every fault kind is applied
/// once, then its ledger check. The soak's own checks are the assertions (its exit code); its table
/// and the reason of any failure are in the test's output. No timing is asserted.
/// </summary>
[TestFixture]
public sealed class FaultSoakTests
{
    /// <summary>The soak bounds itself (load, recovery, drain); this only stops a soak that hangs.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(6);

    /// <summary>A fixed seed: the same plan of jobs and faults on every run (their timing still varies).</summary>
    private const int Seed = 20261206;

    [Test]
    public async Task ShortSoak_WithEveryFaultKind_LosesDuplicatesAndStrandsNoAcceptedJob()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = Path.Combine(RepoPaths.Root, "bench", "FaultSoak", "bin", configuration, "net10.0", "FaultSoak.dll");
        Assert.That(File.Exists(dll), Is.True, $"{dll} is missing: build the solution (it holds bench/FaultSoak)");
        var directory = Path.Combine(Path.GetTempPath(), TestStack.UniqueName("fault-soak"));
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList = { dll, "--short", "--seed", Seed.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            Environment = { ["SOAK_DIR"] = directory, ["REPO_ROOT"] = RepoPaths.Root },
        };
        var output = new StringBuilder();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the fault soak.");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Bound);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The soak did not end within {Bound.TotalMinutes} minutes:\n{Text()}");
        }

        await process.WaitForExitAsync(); // its output read to the end
        TestContext.Out.WriteLine(Text());
        Assert.Multiple(() =>
        {
            Assert.That(process.ExitCode, Is.EqualTo(0), "the soak's checks (its table is in the output):\n" + Text());
            Assert.That(Text(), Does.Contain("| lost (a 202 whose job is gone) | 0 | pass |"));
            Assert.That(Text(), Does.Not.Contain("not applied"), "every fault kind applied at least once");
        });
        if (process.ExitCode == 0)
        {
            Directory.Delete(directory, recursive: true);
        }

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        }

        string Text()
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }
}
