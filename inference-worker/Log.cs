namespace InferenceGateway.Worker;

internal static partial class Log
{
    [LoggerMessage(EventIds.ModelLoaded, LogLevel.Information, "Model {Model} loaded in {InitMs:F0} ms (cold start)")]
    public static partial void ModelLoaded(ILogger logger, string model, double initMs);

    [LoggerMessage(EventIds.Polling, LogLevel.Information, "Polling {QueueUrl}: up to {MaxMessages} messages a receive, {MaxConcurrency} at once")]
    public static partial void Polling(ILogger logger, string queueUrl, int maxMessages, int maxConcurrency);

    [LoggerMessage(EventIds.ReceiveFailed, LogLevel.Warning, "Receiving from the jobs queue failed; retrying in {DelayMs} ms")]
    public static partial void ReceiveFailed(ILogger logger, Exception exception, double delayMs);

    [LoggerMessage(EventIds.PoisonMessage, LogLevel.Error, "Message {MessageId} moved to the dead-letter queue: {Reason}")]
    public static partial void PoisonMessage(ILogger logger, string messageId, string reason);

    [LoggerMessage(EventIds.DeliveryFailed, LogLevel.Warning, "Delivery {ReceiveCount} of job {JobId} (message {MessageId}) failed; released, visible again in {DelaySeconds} s")]
    public static partial void DeliveryFailed(ILogger logger, Exception exception, string messageId, string jobId, int receiveCount, int delaySeconds);

    [LoggerMessage(EventIds.JobFinished, LogLevel.Information, "Job {JobId} {Status} in {ExecutionMs:F1} ms (queue {QueueMs} ms, cold start {ColdStart})")]
    public static partial void JobFinished(ILogger logger, string jobId, string status, double executionMs, long queueMs, bool coldStart);

    [LoggerMessage(EventIds.JobAlreadySettled, LogLevel.Information, "Job {JobId} already ended ({Outcome}); message {MessageId} acknowledged without running")]
    public static partial void JobAlreadySettled(ILogger logger, string jobId, string outcome, string messageId);

    [LoggerMessage(EventIds.InferenceFailed, LogLevel.Warning, "Job {JobId} failed in the model")]
    public static partial void InferenceFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventIds.ProcessingFailed, LogLevel.Error, "Message {MessageId} could not be handled; it returns after its visibility timeout")]
    public static partial void ProcessingFailed(ILogger logger, Exception exception, string messageId);

    [LoggerMessage(EventIds.JobExpired, LogLevel.Information, "Job {JobId} expired in the queue ({Outcome}); message {MessageId} acknowledged without running")]
    public static partial void JobExpired(ILogger logger, string jobId, string outcome, string messageId);

    [LoggerMessage(EventIds.CancelHeard, LogLevel.Information, "Cancel heard for running job {JobId}")]
    public static partial void CancelHeard(ILogger logger, string jobId);

    [LoggerMessage(EventIds.Released, LogLevel.Information, "Message {MessageId} of job {JobId} released, visible again in {DelaySeconds} s: {Why}")]
    public static partial void Released(ILogger logger, string messageId, string jobId, int delaySeconds, string why);

    [LoggerMessage(EventIds.Draining, LogLevel.Information, "Stopping: no more receives; waiting up to {GraceSeconds} s for {Count} running jobs")]
    public static partial void Draining(ILogger logger, int count, int graceSeconds);

    [LoggerMessage(EventIds.Aborting, LogLevel.Warning, "Stopping: grace period over, stopping {Count} running jobs and releasing their messages")]
    public static partial void Aborting(ILogger logger, int count);

    [LoggerMessage(EventIds.Heartbeat, LogLevel.Debug, "Message {MessageId} visibility extended by {Seconds} s")]
    public static partial void Heartbeat(ILogger logger, string messageId, int seconds);

    [LoggerMessage(EventIds.HeartbeatFailed, LogLevel.Warning, "Extending the visibility of message {MessageId} failed")]
    public static partial void HeartbeatFailed(ILogger logger, Exception exception, string messageId);

    [LoggerMessage(EventIds.FailRecordFailed, LogLevel.Error, "Could not record the end of job {JobId}; the dead-letter monitor will")]
    public static partial void FailRecordFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventIds.DeadLetterMonitorFailed, LogLevel.Warning, "Reading the dead-letter queue failed; retrying in {DelayMs} ms")]
    public static partial void DeadLetterMonitorFailed(ILogger logger, Exception exception, double delayMs);

    [LoggerMessage(EventIds.DeadLettered, LogLevel.Warning, "Job {JobId} closed as failed: its message {MessageId} was moved to the dead-letter queue by the redrive policy")]
    public static partial void DeadLettered(ILogger logger, string jobId, string messageId);

    [LoggerMessage(EventIds.CancelSubscribeFailed, LogLevel.Warning, "Subscribing to job cancellations failed; retrying")]
    public static partial void CancelSubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventIds.RegistrationFailed, LogLevel.Warning, "Publishing this worker's models to the registry failed; retrying at the next heartbeat")]
    public static partial void RegistrationFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventIds.ProgressLost, LogLevel.Warning, "Progress event of job {JobId} at {Done} texts lost")]
    public static partial void ProgressLost(ILogger logger, Exception exception, string jobId, int done);

    [LoggerMessage(EventIds.JobCompleted, LogLevel.Debug, "Job {JobId} completed in {ExecutionMs:F1} ms (queue {QueueMs} ms, cold start {ColdStart})")]
    public static partial void JobCompleted(ILogger logger, string jobId, double executionMs, long queueMs, bool coldStart);

    [LoggerMessage(EventIds.JobSummary, LogLevel.Information, "Jobs ended in the last {Seconds:F0} s: {Completed} completed, {Failed} failed, {Cancelled} cancelled, {TimedOut} timed out, {Expired} expired; {Settled} redeliveries of ended jobs acknowledged without running; {Received} messages received in {Receives} receives")]
    public static partial void JobSummary(ILogger logger, double seconds, long completed, long failed, long cancelled, long timedOut, long expired, long settled, long received, long receives);

    [LoggerMessage(EventIds.JobRebuilt, LogLevel.Warning, "Job {JobId} had no record in Redis (lost, not expired: created {CreatedAt:O}); rebuilt it from message {MessageId}")]
    public static partial void JobRebuilt(ILogger logger, string jobId, DateTimeOffset createdAt, string messageId);

    [LoggerMessage(EventIds.JobNotRebuilt, LogLevel.Information, "Job {JobId} has no record and was created {CreatedAt:O}, past the job retention: it may have ended and expired, so message {MessageId} does not rebuild it")]
    public static partial void JobNotRebuilt(ILogger logger, string jobId, DateTimeOffset createdAt, string messageId);

    [LoggerMessage(EventIds.JobLeased, LogLevel.Information, "Job {JobId} runs under another run's lease for {RemainingMs} ms more; delivery {ReceiveCount} (message {MessageId}, a duplicate of the holder's: {Duplicate}) not run")]
    public static partial void JobLeased(ILogger logger, string jobId, long remainingMs, int receiveCount, string messageId, bool duplicate);

    [LoggerMessage(EventIds.DuplicateDeleted, LogLevel.Information, "Message {MessageId} of job {JobId} deleted without running: a duplicate of the message whose run holds the job's lease")]
    public static partial void DuplicateDeleted(ILogger logger, string messageId, string jobId);

    [LoggerMessage(EventIds.RunFenced, LogLevel.Warning, "Run of job {JobId} fenced: another run took its lease over; this run stops and records nothing more")]
    public static partial void RunFenced(ILogger logger, string jobId);

    [LoggerMessage(EventIds.LeaseRenewFailed, LogLevel.Warning, "Renewing the run lease of job {JobId} failed; trying again at the next heartbeat")]
    public static partial void LeaseRenewFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventIds.CancelRead, LogLevel.Information, "Cancel of running job {JobId} read from its record by the lease heartbeat")]
    public static partial void CancelRead(ILogger logger, string jobId);
}
