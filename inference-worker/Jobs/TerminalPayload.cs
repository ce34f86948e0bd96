using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using InferenceGateway.Contracts;

namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// A terminal event's data, <c>{"result":…,"metrics":…}</c> or <c>{"error":…,"metrics":…}</c>,
/// written once as UTF-8 into a pooled buffer with the source-generated contracts; the record's
/// <c>result</c> (or <c>error</c>) field is the slice of it that holds the value, so a result of a
/// few hundred floats is formatted once and copied nowhere before Redis takes the bytes. The bytes
/// are what <see cref="JsonSerializer"/> writes for the same values (the contracts' options, no
/// indentation, the default encoder).
/// </summary>
internal sealed class TerminalPayload
{
    // 384 floats of an embedding take about 4.5 KB; bigger results grow the buffer.
    private const int InitialCapacity = 8 * 1024;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly PooledBufferWriter _buffer;
    private readonly int _valueStart;
    private readonly int _valueLength;

    private TerminalPayload(PooledBufferWriter buffer, int valueStart, int valueLength)
    {
        _buffer = buffer;
        _valueStart = valueStart;
        _valueLength = valueLength;
    }

    /// <summary>The whole event data.</summary>
    public ReadOnlyMemory<byte> Data => _buffer.WrittenMemory;

    /// <summary>The result (or error) value alone, for the record's field.</summary>
    public ReadOnlyMemory<byte> Value => _buffer.WrittenMemory.Slice(_valueStart, _valueLength);

    /// <summary><c>{"result":<paramref name="result"/>,"metrics":<paramref name="metrics"/>}</c>.</summary>
    public static TerminalPayload Result<T>(T result, JsonTypeInfo<T> type, JobMetrics metrics) => Write("result", result, type, metrics);

    /// <summary><c>{"error":<paramref name="error"/>,"metrics":<paramref name="metrics"/>}</c>.</summary>
    public static TerminalPayload Error(JobError error, JobMetrics metrics) => Write("error", error, ContractsJsonContext.Default.JobError, metrics);

    /// <summary>
    /// Gives the buffer back to the pool. Only once Redis has answered the command that carried it:
    /// a command that failed may still sit in the client's backlog and be written later, so on
    /// failure the buffer is left to the garbage collector instead.
    /// </summary>
    public void Return() => _buffer.Return();

    private static TerminalPayload Write<T>(string name, T value, JsonTypeInfo<T> type, JobMetrics metrics)
    {
        var buffer = new PooledBufferWriter(InitialCapacity);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = ContractsJsonContext.Default.Options.Encoder });
        writer.Reset(buffer);
        try
        {
            writer.WriteStartObject();
            writer.WritePropertyName(name);
            writer.Flush();
            var start = buffer.WrittenCount;
            JsonSerializer.Serialize(writer, value, type);
            writer.Flush();
            var length = buffer.WrittenCount - start;
            writer.WritePropertyName("metrics");
            JsonSerializer.Serialize(writer, metrics, ContractsJsonContext.Default.JobMetrics);
            writer.WriteEndObject();
            writer.Flush();
            return new TerminalPayload(buffer, start, length);
        }
        finally
        {
            // The cached writer must not keep this buffer alive (or write into it) after this call.
            writer.Reset(Stream.Null);
        }
    }
}
