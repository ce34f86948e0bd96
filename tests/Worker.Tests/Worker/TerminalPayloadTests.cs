using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Worker.Jobs;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// The terminal event's data written once into a pooled buffer: byte for byte what the worker
/// stored before (the result serialized on its own, then concatenated into the event's data), so
/// clients and tests that read either see no change.
/// </summary>
[TestFixture]
public sealed class TerminalPayloadTests
{
    private static readonly JobMetrics Metrics = new() { QueueMs = 12, ColdStart = false, InitMs = 0, ExecutionMs = 3.257, BilledMs = 4, Provider = "cpu" };

    [Test]
    public void EmbeddingResult_IsWrittenAsTheSerializerWritesIt()
    {
        var random = new Random(7);
        var vectors = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 384).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray()).ToArray();
        vectors[0][0] = float.Epsilon;
        vectors[0][1] = -0f;
        vectors[0][2] = 1e-7f;
        var result = new EmbeddingResult("all-minilm-l6-v2", 384, vectors);

        var payload = TerminalPayload.Result(result, ContractsJsonContext.Default.EmbeddingResult, Metrics);

        var resultJson = JsonSerializer.Serialize(result, ContractsJsonContext.Default.EmbeddingResult);
        AssertWrittenAsBefore(payload, "result", resultJson);
        payload.Return();
    }

    [Test]
    public void GenerationResult_WithTextThatNeedsEscaping_IsWrittenAsTheSerializerWritesIt()
    {
        var result = new GenerationResult("tiny-llm", "Il était une fois \"<b>\" & 😀\n\ttab\u0001", FinishReasons.Length, new TokenUsage(4, 32, 36));

        var payload = TerminalPayload.Result(result, ContractsJsonContext.Default.GenerationResult, Metrics);

        AssertWrittenAsBefore(payload, "result", JsonSerializer.Serialize(result, ContractsJsonContext.Default.GenerationResult));
        payload.Return();
    }

    [Test]
    public void Error_IsWrittenAsTheSerializerWritesIt()
    {
        var error = new JobError("timed_out", "The model ran past the job's limit of 300 ms.");

        var payload = TerminalPayload.Error(error, Metrics);

        AssertWrittenAsBefore(payload, "error", JsonSerializer.Serialize(error, ContractsJsonContext.Default.JobError));
        payload.Return();
    }

    [Test]
    public void AResultBiggerThanTheFirstBuffer_IsWrittenWhole()
    {
        var vectors = Enumerable.Range(0, 64).Select(i => Enumerable.Range(0, 384).Select(j => (i * 0.001f) - (j * 0.0003f)).ToArray()).ToArray();
        var result = new EmbeddingResult("all-minilm-l6-v2", 384, vectors);

        var payload = TerminalPayload.Result(result, ContractsJsonContext.Default.EmbeddingResult, Metrics);

        Assert.That(payload.Data.Length, Is.GreaterThan(64 * 1024));
        AssertWrittenAsBefore(payload, "result", JsonSerializer.Serialize(result, ContractsJsonContext.Default.EmbeddingResult));
        payload.Return();
    }

    /// <summary>What RecordEndAsync built before: the value's JSON, and the data as a string around it.</summary>
    private static void AssertWrittenAsBefore(TerminalPayload payload, string name, string valueJson)
    {
        var metricsJson = JsonSerializer.Serialize(Metrics, ContractsJsonContext.Default.JobMetrics);
        var before = $$"""{"{{name}}":{{valueJson}},"metrics":{{metricsJson}}}""";
        Assert.That(Encoding.UTF8.GetString(payload.Value.Span), Is.EqualTo(valueJson));
        Assert.That(Encoding.UTF8.GetString(payload.Data.Span), Is.EqualTo(before));
    }
}
