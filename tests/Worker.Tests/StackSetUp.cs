using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests;

/// <summary>Starts the shared real components once for every test in the assembly (<see cref="RealStackSetUp"/>).</summary>
[SetUpFixture]
public sealed class StackSetUp : RealStackSetUp;
