using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;

namespace InferenceGateway.Worker.Streaming;

/// <summary>
/// One pending stream event: a run of items of one type at contiguous positions, which later items
/// of the same type extend while it waits for its append.
/// </summary>
internal abstract class StreamItem(long position, int count)
{
    /// <summary>Position of the first item in the job's stream (a text's index, a token's index).</summary>
    public long Position { get; } = position;

    /// <summary>Items merged into this event.</summary>
    public int Count { get; private set; } = count;

    /// <summary>One of <see cref="JobEventTypes"/>.</summary>
    public abstract string Type { get; }

    /// <summary>The data property that holds <see cref="Position"/>: what identifies the event in the log.</summary>
    public abstract string PositionName { get; }

    /// <summary>Appends <paramref name="next"/> to this event when it is of the same type, starts where this one ends and the total stays within <paramref name="max"/>.</summary>
    public bool TryMerge(StreamItem next, int max)
    {
        if (next.GetType() != GetType() || next.Position != Position + Count || Count + next.Count > max)
        {
            return false;
        }

        Append(next);
        Count += next.Count;
        return true;
    }

    /// <summary>The event's data as JSON.</summary>
    public string ToJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber(PositionName, Position);
            json.WriteNumber("count", Count);
            WriteProperties(json);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Takes in the items of <paramref name="next"/>, an item of the same type that starts where this one ends.</summary>
    protected abstract void Append(StreamItem next);

    /// <summary>The data's properties after the position and the count.</summary>
    protected abstract void WriteProperties(Utf8JsonWriter json);
}

/// <summary>Embeddings of contiguous texts: <c>{"offset", "count", "total", "embeddings": [[...]...]}</c>.</summary>
internal sealed class ChunkItem(int offset, IReadOnlyList<float[]> vectors, int total) : StreamItem(offset, vectors.Count)
{
    private readonly List<float[]> _vectors = [.. vectors];

    public override string Type => JobEventTypes.Chunk;

    public override string PositionName => "offset";

    protected override void Append(StreamItem next) => _vectors.AddRange(((ChunkItem)next)._vectors);

    protected override void WriteProperties(Utf8JsonWriter json)
    {
        json.WriteNumber("total", total);
        json.WriteStartArray("embeddings");
        foreach (var vector in _vectors)
        {
            // As the completed result writes them (shortest round-trip form), so the values are equal.
            json.WriteStartArray();
            foreach (var value in vector)
            {
                json.WriteNumberValue(value);
            }

            json.WriteEndArray();
        }

        json.WriteEndArray();
    }
}

/// <summary>Generated text: <c>{"index", "count", "text"}</c>, the concatenation of <c>count</c> tokens from token <c>index</c> on.</summary>
internal sealed class TokenItem(long index, string text) : StreamItem(index, 1)
{
    private readonly StringBuilder _text = new(text);

    public override string Type => JobEventTypes.Token;

    public override string PositionName => "index";

    protected override void Append(StreamItem next) => _text.Append(((TokenItem)next)._text);

    protected override void WriteProperties(Utf8JsonWriter json)
    {
        json.WriteString("text", _text.ToString());
    }
}
