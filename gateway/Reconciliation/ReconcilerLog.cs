namespace InferenceGateway.Gateway.Reconciliation;

internal static partial class ReconcilerLog
{
    [LoggerMessage(EventIds.ReconcilerResent, LogLevel.Information, "Job {JobId} sent to queue {Queue} again ({Reason})")]
    public static partial void Resent(ILogger logger, string jobId, string queue, string reason);

    [LoggerMessage(EventIds.ReconcilerResendFailed, LogLevel.Warning, "Job {JobId} could not be sent to queue {Queue} again ({Reason}); tried again next tick")]
    public static partial void ResendFailed(ILogger logger, Exception exception, string jobId, string queue, string reason);

    [LoggerMessage(EventIds.ReconcilerTickFailed, LogLevel.Warning, "The job reconciler of queue {Queue} could not run (Redis or SQS unreachable?); trying again every {Interval}")]
    public static partial void TickFailed(ILogger logger, Exception exception, string queue, TimeSpan interval);

    [LoggerMessage(EventIds.ReconcilerRecovered, LogLevel.Information, "The job reconciler of queue {Queue} runs again")]
    public static partial void Recovered(ILogger logger, string queue);

    [LoggerMessage(EventIds.ReconcilerLeaseTaken, LogLevel.Information, "This gateway now reconciles queue {Queue} (lease {Token})")]
    public static partial void LeaseTaken(ILogger logger, string queue, string token);

    [LoggerMessage(EventIds.ReconcilerLeaseLost, LogLevel.Information, "This gateway no longer reconciles queue {Queue} (lease {Token})")]
    public static partial void LeaseLost(ILogger logger, string queue, string token);

    [LoggerMessage(EventIds.ReconcilerForgot, LogLevel.Debug, "Job {JobId} left queue {Queue}'s outbox and queued index: its record is {Status}")]
    public static partial void Forgot(ILogger logger, string jobId, string queue, string status);
}
