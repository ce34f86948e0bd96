using InferenceGateway.Tests.TextGeneration;

namespace InferenceGateway.Tests.Infrastructure;

/// <summary>
/// What a test assembly that needs the real components does once: start Redis and the queue
/// emulator before its first test, stop them after its last, and remove the tiny model's folder if a
/// test wrote it. Each such assembly derives one <c>[SetUpFixture]</c> from this (NUnit wants the
/// fixture in the assembly itself).
/// </summary>
public abstract class RealStackSetUp
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
