namespace InferenceGateway.Worker.Queue;

/// <summary>Log events of the claim check: a job message whose input is stored in Redis (<see cref="Core.Jobs.JobInputs"/>).</summary>
internal static partial class ClaimCheckLog
{
    [LoggerMessage(EventIds.InputMissing, LogLevel.Warning, "Job {JobId}'s stored input {InputRef} is gone; the job is failed ({Outcome}) and message {MessageId} deleted")]
    public static partial void InputMissing(ILogger logger, string jobId, string inputRef, string outcome, string messageId);
}
