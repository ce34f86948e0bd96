namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// The hard stop of a shutdown: cancelled when the grace period for running jobs is over, so they
/// stop and their messages go back to the queue at once instead of being recorded as failed.
/// </summary>
public sealed class WorkerLifetime : IDisposable
{
    private readonly CancellationTokenSource _abort = new();

    public CancellationToken Aborted => _abort.Token;

    public void Abort() => _abort.Cancel();

    public void Dispose() => _abort.Dispose();
}
