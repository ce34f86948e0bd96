using System.Text.Json;
using System.Text.Json.Serialization;
using InferenceGateway.Core.Jobs;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// The optional <c>webhook</c> of <c>POST /v1/jobs</c>: <c>{"url": "https://…", "events": [...]}</c>,
/// where <c>events</c> lists job event types or is <c>"all"</c>; absent, the terminal types.
/// Unknown properties are refused. Checked by the <see cref="IWebhookRequestValidator"/> the webhooks
/// feature registers.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record WebhookRequest
{
    public string? Url { get; init; }

    /// <summary>A list of event types, or the string <c>"all"</c>.</summary>
    public JsonElement? Events { get; init; }
}

/// <summary>Turns a job's <see cref="WebhookRequest"/> into the webhook stored with it; implemented by the webhooks feature.</summary>
public interface IWebhookRequestValidator
{
    /// <summary>
    /// The webhook to store, or the errors by field (<c>webhook.url</c>, <c>webhook.events</c>). The
    /// URL is checked against the webhook target policy, its host name resolved.
    /// </summary>
    Task<(JobWebhook? Webhook, Dictionary<string, string[]> Errors)> ValidateAsync(WebhookRequest request, CancellationToken cancellationToken);
}
