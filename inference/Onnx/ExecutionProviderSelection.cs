using Microsoft.ML.OnnxRuntime;

namespace InferenceGateway.Inference.Onnx;

/// <summary>
/// The execution provider asked for in configuration and the one in use, decided once at start by
/// probing ONNX Runtime; <see cref="FallbackReason"/> says why they differ.
/// </summary>
public sealed record ExecutionProviderSelection(ExecutionProviderKind Requested, ExecutionProviderKind Active, int CudaDeviceId, string? FallbackReason)
{
    /// <summary>Plain CPU, nothing probed: what tests and benchmarks use.</summary>
    public static ExecutionProviderSelection Cpu { get; } = new(ExecutionProviderKind.Cpu, ExecutionProviderKind.Cpu, 0, null);

    /// <summary>The active provider as reported to clients: <c>cpu</c> or <c>cuda</c>.</summary>
    public string ActiveName => Name(Active);

    public static string Name(ExecutionProviderKind kind) => kind switch
    {
        ExecutionProviderKind.Cuda => "cuda",
        _ => "cpu",
    };

    /// <summary>
    /// Probes the requested provider. With <c>cuda</c> this enables the CUDA provider on a throw-away
    /// <see cref="SessionOptions"/>: the CPU build of ONNX Runtime, a missing driver, CUDA or cuDNN
    /// library or a bad device id all fail here, at start, not on the first job.
    /// </summary>
    /// <exception cref="InvalidOperationException">CUDA was asked for, is not usable and <see cref="InferenceOptions.FallbackToCpu"/> is off.</exception>
    public static ExecutionProviderSelection Probe(InferenceOptions options, Func<int, string?>? cudaProbe = null)
    {
        // Loads the native library and creates its environment now, at start: a worker whose ONNX
        // Runtime cannot load stops here, and the first cold start does not pay for it.
        try
        {
            _ = OrtEnv.Instance().GetVersionString();
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            throw new InvalidOperationException($"The ONNX Runtime native library could not be loaded: {ex.Message.Trim()}", ex);
        }

        if (options.ExecutionProvider != ExecutionProviderKind.Cuda)
        {
            return Cpu;
        }

        var reason = (cudaProbe ?? ProbeCuda)(options.CudaDeviceId);
        if (reason is null)
        {
            return new(ExecutionProviderKind.Cuda, ExecutionProviderKind.Cuda, options.CudaDeviceId, null);
        }

        var message = $"Inference:ExecutionProvider is 'cuda' but ONNX Runtime could not enable CUDA on device {options.CudaDeviceId}: {reason}";
        if (!options.FallbackToCpu)
        {
            throw new InvalidOperationException(
                message + " Build the worker with -p:OnnxRuntimeFlavor=gpu and run it on a machine with an NVIDIA driver, CUDA 13 and cuDNN 9 " +
                "(inference-worker/Dockerfile.gpu), or set Inference:FallbackToCpu=true to run on the CPU instead.");
        }

        return new(ExecutionProviderKind.Cuda, ExecutionProviderKind.Cpu, options.CudaDeviceId, message);
    }

    /// <summary>Adds the active provider to <paramref name="sessionOptions"/> (the CPU provider is always there as the last resort).</summary>
    public void Apply(SessionOptions sessionOptions)
    {
        if (Active == ExecutionProviderKind.Cuda)
        {
            sessionOptions.AppendExecutionProvider_CUDA(CudaDeviceId);
        }
    }

    /// <summary>
    /// Null when CUDA works on <paramref name="deviceId"/>, otherwise why not. Enabling the provider
    /// loads its library (fails on the CPU build and without CUDA or cuDNN); building a session on a
    /// one-node model and running it initialises the device (fails without a driver or GPU).
    /// </summary>
    private static string? ProbeCuda(int deviceId)
    {
        try
        {
            using var probe = new SessionOptions();
            probe.AppendExecutionProvider_CUDA(deviceId);
            using var session = new InferenceSession(IdentityModel(), probe);
            using var input = OrtValue.CreateTensorValueFromMemory(new float[] { 1f }, [1]);
            using var runOptions = new RunOptions();
            using var output = session.Run(runOptions, ["x"], [input], ["y"]);
            return null;
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException or TypeInitializationException)
        {
            return ex.Message.Trim();
        }
    }

    /// <summary>The ONNX protobuf of <c>y = Identity(x)</c>, x and y float[1], opset 13.</summary>
    private static byte[] IdentityModel()
    {
        static byte[] Field(int number, byte[] payload) => [(byte)((number << 3) | 2), (byte)payload.Length, .. payload];
        static byte[] Varint(int number, int value) => [(byte)(number << 3), (byte)value];
        static byte[] Text(int number, string value) => Field(number, System.Text.Encoding.ASCII.GetBytes(value));
        static byte[] FloatVector(string name) =>
            [.. Text(1, name), .. Field(2, Field(1, [.. Varint(1, 1), .. Field(2, Field(1, Varint(1, 1)))]))];

        byte[] node = [.. Text(1, "x"), .. Text(2, "y"), .. Text(4, "Identity")];
        byte[] graph = [.. Field(1, node), .. Text(2, "probe"), .. Field(11, FloatVector("x")), .. Field(12, FloatVector("y"))];
        return [.. Varint(1, 8), .. Field(7, graph), .. Field(8, [.. Text(1, string.Empty), .. Varint(2, 13)])];
    }
}
