using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Tests.TextGeneration;

namespace InferenceGateway.Tests;

/// <summary>Starts the shared real components once for every test in the assembly; removes the tiny model's folder, if a test wrote it, at the end.</summary>
[SetUpFixture]
public sealed class StackSetUp
{
    [OneTimeSetUp]
    public Task StartAsync() => TestStack.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await TestStack.StopAsync();
        TinyModel.DeleteIfWritten();
    }
}
