using System.Text.Json;
using System.Text.Json.Serialization;

namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// Source-generated JSON for what the webhook dispatcher writes itself: the stored delivery records
/// and the payload it signs and posts. The HTTP API's webhook types are in the host's context.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(WebhookDelivery))]
[JsonSerializable(typeof(WebhookPayload))]
internal sealed partial class WebhookJsonContext : JsonSerializerContext;
