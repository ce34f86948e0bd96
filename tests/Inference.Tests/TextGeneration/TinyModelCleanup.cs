namespace InferenceGateway.Tests.TextGeneration;

/// <summary>Removes the tiny model's folder after the namespace's tests.</summary>
[SetUpFixture]
public sealed class TinyModelCleanup
{
    [OneTimeTearDown]
    public void DeleteFolder() => TinyModel.DeleteIfWritten();
}
