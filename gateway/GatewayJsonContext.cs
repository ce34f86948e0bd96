using System.Text.Json;
using System.Text.Json.Serialization;
using InferenceGateway.Gateway.Admin;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Health;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Usage;
using InferenceGateway.Gateway.Webhooks;

namespace InferenceGateway.Gateway;

/// <summary>Source-generated JSON for the gateway's own request and response types.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SubmitJobRequest))]
[JsonSerializable(typeof(InferenceGateway.Gateway.Chat.ChatCompletionRequest))]
[JsonSerializable(typeof(InferenceGateway.Gateway.Edge.EmbeddingsRequest))]
[JsonSerializable(typeof(JobInput))]
[JsonSerializable(typeof(JobAccepted))]
[JsonSerializable(typeof(JobView))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(HealthReport))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(ApiKeyCreated))]
[JsonSerializable(typeof(ApiKeyList))]
[JsonSerializable(typeof(UsageView))]
[JsonSerializable(typeof(InferenceGateway.Gateway.Admin.DeliveryReport))]
[JsonSerializable(typeof(WebhookRequest))]
[JsonSerializable(typeof(WebhookSecretView))]
[JsonSerializable(typeof(WebhookDeliveriesView))]
public sealed partial class GatewayJsonContext : JsonSerializerContext;
