using System.Text.Json;
using System.Text.Json.Serialization;

namespace InferenceGateway.Contracts;

/// <summary>Source-generated JSON for every contract type, in the wire's camelCase.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(JobMessage))]
[JsonSerializable(typeof(JobInput))]
[JsonSerializable(typeof(JobEvent))]
[JsonSerializable(typeof(JobMetrics))]
[JsonSerializable(typeof(JobError))]
[JsonSerializable(typeof(EmbeddingResult))]
[JsonSerializable(typeof(GenerationResult))]
[JsonSerializable(typeof(ChatMessage))]
public sealed partial class ContractsJsonContext : JsonSerializerContext;
