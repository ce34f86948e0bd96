
namespace InferenceGateway.Gateway.Webhooks;

internal static partial class WebhookLog
{
    [LoggerMessage(EventIds.WebhookAttempted, LogLevel.Information, "Webhook {WebhookId} attempt {Attempt}: {Outcome} ({StatusCode}) {Error}")]
    public static partial void Attempted(ILogger logger, string webhookId, int attempt, string outcome, int? statusCode, string? error);

    [LoggerMessage(EventIds.WebhookDropped, LogLevel.Warning, "Webhook outbox entry {EntryId} dropped: {Reason}")]
    public static partial void Dropped(ILogger logger, string entryId, string reason);

    [LoggerMessage(EventIds.WebhookOutboxUnreadable, LogLevel.Warning, "The webhook dispatcher could not read the outbox; retrying")]
    public static partial void OutboxUnreadable(ILogger logger, Exception exception);

    [LoggerMessage(EventIds.WebhookDeliveryBrokeOff, LogLevel.Warning, "Webhook delivery of {JobId} seq {Seq} broke off; the entry stays pending and is taken over later")]
    public static partial void DeliveryBrokeOff(ILogger logger, Exception exception, string jobId, long seq);

    [LoggerMessage(EventIds.WebhookClaimed, LogLevel.Information, "Took over {Count} webhook deliveries left pending by another instance")]
    public static partial void Claimed(ILogger logger, int count);

    [LoggerMessage(EventIds.WebhookHostRefused, LogLevel.Information, "Webhook target {Host} refused: {Reason}")]
    public static partial void HostRefused(ILogger logger, string host, string reason);

    [LoggerMessage(EventIds.WebhookGaveBack, LogLevel.Information, "Gave back {Count} webhook deliveries on shutdown; another instance takes them over")]
    public static partial void GaveBack(ILogger logger, int count);

    [LoggerMessage(EventIds.WebhookGiveBackFailed, LogLevel.Warning, "Could not give back the webhook deliveries held on shutdown; they are taken over after Webhooks:ClaimAfter")]
    public static partial void GiveBackFailed(ILogger logger, Exception exception);
}
