using System.Buffers;
using System.Text;

namespace InferenceGateway.Tools.TinyModels;

/// <summary>
/// Just enough protobuf to write an ONNX model by hand (field numbers from onnx.proto): a
/// length-delimited message writer and the ModelProto pieces the tiny test model uses.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new();

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public ProtoWriter Varint(int field, long value)
    {
        Tag(field, 0);
        WriteVarint((ulong)value);
        return this;
    }

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> payload)
    {
        Tag(field, 2);
        WriteVarint((ulong)payload.Length);
        _buffer.Write(payload);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public ProtoWriter Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> bytes = stackalloc byte[4];
        BitConverter.TryWriteBytes(bytes, value);
        if (!BitConverter.IsLittleEndian)
        {
            bytes.Reverse();
        }

        _buffer.Write(bytes);
        return this;
    }

    private void Tag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.Write([(byte)(value | 0x80)]);
            value >>= 7;
        }

        _buffer.Write([(byte)value]);
    }
}

/// <summary>Builds an ONNX GraphProto node by node (opset 17, default domain).</summary>
internal sealed class OnnxGraphBuilder
{
    public const int Float = 1;
    public const int Int64 = 7;

    private readonly ProtoWriter _graph = new();
    private int _nodes;

    /// <summary>A graph input or output: a tensor of <paramref name="elementType"/> whose dimensions are numbers or symbolic names.</summary>
    public void Input(string name, int elementType, params object[] dims) => _graph.Message(11, ValueInfo(name, elementType, dims));

    public void Output(string name, int elementType, params object[] dims) => _graph.Message(12, ValueInfo(name, elementType, dims));

    public string FloatTensor(string name, float[] values, params long[] dims)
    {
        var raw = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        _graph.Message(5, Tensor(name, Float, raw, dims));
        return name;
    }

    public string Int64Tensor(string name, long[] values, params long[] dims)
    {
        var raw = new byte[values.Length * 8];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        _graph.Message(5, Tensor(name, Int64, raw, dims));
        return name;
    }

    /// <summary>Adds a node; attributes are (name, value) with value an int, long, float, long[] or float tensor.</summary>
    public string Node(string opType, string[] inputs, string output, params (string Name, object Value)[] attributes)
    {
        var node = new ProtoWriter();
        foreach (var input in inputs)
        {
            node.String(1, input);
        }

        node.String(2, output);
        node.String(3, $"{opType}_{_nodes++}");
        node.String(4, opType);
        foreach (var (name, value) in attributes)
        {
            var attribute = new ProtoWriter().String(1, name);
            switch (value)
            {
                case int i:
                    attribute.Varint(3, i).Varint(20, 2);
                    break;
                case long l:
                    attribute.Varint(3, l).Varint(20, 2);
                    break;
                case float f:
                    attribute.Float(2, f).Varint(20, 1);
                    break;
                case long[] ints:
                    foreach (var v in ints)
                    {
                        attribute.Varint(8, v);
                    }

                    attribute.Varint(20, 7);
                    break;
                case float[] tensor:
                    var raw = new byte[tensor.Length * 4];
                    Buffer.BlockCopy(tensor, 0, raw, 0, raw.Length);
                    attribute.Message(5, Tensor(string.Empty, Float, raw, tensor.Length == 1 ? [] : [tensor.Length])).Varint(20, 4);
                    break;
                default:
                    throw new ArgumentException($"Attribute {name}: unsupported value type {value.GetType().Name}.", nameof(attributes));
            }

            node.Message(5, attribute);
        }

        _graph.Message(1, node);
        return output;
    }

    /// <summary>The ModelProto: IR version 8, opset 17.</summary>
    public byte[] ToModel(string graphName)
    {
        _graph.String(2, graphName);
        return new ProtoWriter()
            .Varint(1, 8)
            .String(2, "InferenceGateway.TinyModelWriter")
            .Message(7, _graph)
            .Message(8, new ProtoWriter().String(1, string.Empty).Varint(2, 17))
            .ToArray();
    }

    private static ProtoWriter Tensor(string name, int elementType, byte[] raw, long[] dims)
    {
        var tensor = new ProtoWriter();
        foreach (var d in dims)
        {
            tensor.Varint(1, d);
        }

        tensor.Varint(2, elementType);
        if (name.Length > 0)
        {
            tensor.String(8, name);
        }

        return tensor.Bytes(9, raw);
    }

    private static ProtoWriter ValueInfo(string name, int elementType, object[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var dim in dims)
        {
            shape.Message(1, dim is string symbol ? new ProtoWriter().String(2, symbol) : new ProtoWriter().Varint(1, Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture)));
        }

        var tensorType = new ProtoWriter().Varint(1, elementType).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }
}
