using System.Diagnostics.Metrics;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>Meter <c>InferenceGateway.Webhooks</c>: <c>gateway.webhook.attempts</c>, by <c>outcome</c>.</summary>
public sealed class WebhookMetrics
{
    public const string MeterName = "InferenceGateway.Webhooks";

    private readonly Counter<long> _attempts;

    public WebhookMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _attempts = meter.CreateCounter<long>("gateway.webhook.attempts", unit: "{attempt}", description: "Webhook delivery attempts by outcome.");
    }

    public void Attempted(string outcome) => _attempts.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
