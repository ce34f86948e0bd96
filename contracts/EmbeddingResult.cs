namespace InferenceGateway.Contracts;

/// <summary>The result of an embedding job: one L2-normalised vector per input text.</summary>
public sealed record EmbeddingResult(string Model, int Dimensions, IReadOnlyList<float[]> Embeddings);
