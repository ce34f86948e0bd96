namespace InferenceGateway.Gateway;

/// <summary>
/// Every log event id of this assembly, in one table so none collides inside a process: Gateway owns 3000-3999
/// (core 1000s, inference 2000s, gateway 3000s, worker 4000s), a block of 100 per log class.
/// A test (<c>LogEventIdTests</c>) checks that no two events of the four assemblies share an id.
/// </summary>
internal static class EventIds
{
    // EdgeLog (Edge/EdgeStartup.cs)
    public const int EdgeLoaded = 3001;
    public const int EdgeLoadFailed = 3002;
    public const int EdgeRegistrationFailed = 3003;

    // LatencyAuditLog (Latency/LatencyAuditLog.cs)
    public const int LatencyAuditQueueDepthUnreadable = 3101;
    public const int LatencyAuditLatencyUnreadable = 3102;
    public const int LatencyAuditQueueEstimateFailed = 3103;

    // Log (Log.cs)
    public const int EnqueueFailed = 3201;
    public const int StaleKeyUsed = 3202;
    public const int RevocationSubscribeFailed = 3203;
    public const int RateLimitFallback = 3204;
    public const int ModelRegistryUnreadable = 3205;
    public const int SseStreamInterrupted = 3206;
    public const int SseSubscriberTooSlow = 3207;
    public const int ChatStreamAbandoned = 3208;
    public const int ChatStreamCancelFailed = 3209;

    // ProxyLog (Proxy/ProxyLog.cs)
    public const int ProxyRouteSubmittedJob = 3301;
    public const int ProxyFailed = 3302;

    // WebhookLog (Webhooks/WebhookLog.cs)
    public const int WebhookAttempted = 3401;
    public const int WebhookDropped = 3402;
    public const int WebhookOutboxUnreadable = 3403;
    public const int WebhookDeliveryBrokeOff = 3404;
    public const int WebhookClaimed = 3405;
    public const int WebhookHostRefused = 3406;
    public const int WebhookGaveBack = 3407;
    public const int WebhookGiveBackFailed = 3408;

    // ReconcilerLog (Reconciliation/ReconcilerLog.cs)
    public const int ReconcilerResent = 3601;
    public const int ReconcilerResendFailed = 3602;
    public const int ReconcilerTickFailed = 3603;
    public const int ReconcilerRecovered = 3604;
    public const int ReconcilerLeaseTaken = 3605;
    public const int ReconcilerLeaseLost = 3606;
    public const int ReconcilerForgot = 3607;
}
