using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests;

/// <summary>Starts the shared real components once for every test in the assembly.</summary>
[SetUpFixture]
public sealed class StackSetUp
{
    [OneTimeSetUp]
    public Task StartAsync() => TestStack.StartAsync();

    [OneTimeTearDown]
    public Task StopAsync() => TestStack.StopAsync();
}
