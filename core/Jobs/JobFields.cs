namespace InferenceGateway.Core.Jobs;

/// <summary>Field names of the job record hash.</summary>
public static class JobFields
{
    public const string Id = "id";
    public const string Tenant = "tenant";
    public const string Model = "model";
    public const string Status = "status";
    public const string CreatedAt = "createdAt";
    public const string StartedAt = "startedAt";
    public const string CompletedAt = "completedAt";
    public const string Result = "result";
    public const string Error = "error";
    public const string QueueMs = "queueMs";
    public const string ColdStart = "coldStart";
    public const string InitMs = "initMs";
    public const string ExecutionMs = "executionMs";
    public const string BilledMs = "billedMs";
    public const string LastSeq = "lastSeq";
    public const string CancelRequested = "cancelRequested";
    public const string Provider = "provider";

    /// <summary>The token of the run that holds the job's lease (random per run; absent before the first start).</summary>
    public const string RunToken = "runToken";

    /// <summary>When that lease lapses unless renewed: ms since the Unix epoch on Redis' clock (<c>TIME</c>).</summary>
    public const string LeaseUntil = "leaseUntil";

    /// <summary>The SQS message id of the delivery whose run holds the lease.</summary>
    public const string RunMessage = "runMessage";

    /// <summary>The job's webhook target (absent: no webhook).</summary>
    public const string WebhookUrl = "webhookUrl";

    /// <summary>Which event types go to the webhook: <c>*</c> for all, else <c>,type,type,</c> (see <see cref="JobWebhook"/>).</summary>
    public const string WebhookEvents = "webhookEvents";

    /// <summary>The stream the append scripts add <c>{job, seq}</c> to for each event the webhook wants.</summary>
    public const string WebhookOutbox = "webhookOutbox";

    /// <summary>
    /// The queue the job's message goes to (<c>Sqs:QueueName</c> of the gateway that accepted it); its
    /// presence says the record was created with its message, and the scripts keep the job in that
    /// queue's outbox and queued index (<see cref="JobKeys.Unsent"/>, <see cref="JobKeys.Queued"/>).
    /// </summary>
    public const string Queue = "queue";

    /// <summary>The job's queue message body, kept while the job is queued so it can be sent again; dropped when it starts or ends.</summary>
    public const string Message = "message";

    /// <summary>The W3C trace context the message was first sent with, kept with <see cref="Message"/> for a re-send.</summary>
    public const string TraceParent = "traceparent";

    /// <summary><see cref="CreatedAt"/> in Unix milliseconds: the job's score in the queue's indexes and what its start raises the started watermark to.</summary>
    public const string CreatedMs = "createdMs";
}
