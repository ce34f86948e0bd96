using System.Runtime.ExceptionServices;
using InferenceGateway.Inference.Batching;

namespace InferenceGateway.Inference.Onnx;

/// <summary>
/// The threads ONNX Runtime computes on are named <c>onnx-*</c>, so a process's CPU time splits
/// into the model's own (threads named <c>onnx-*</c>: <c>bench/LoadTest</c>'s
/// <c>ProcessCpu.ThreadMilliseconds(pid, "onnx-")</c>) and the pipeline's (everything else):
/// <c>onnx-run-N</c> run the embedding batches (<see cref="MicroBatcher{TModel}"/>),
/// <c>onnx-gen</c> a text generation, and the intra-op threads ONNX Runtime starts with a session
/// (when a run has more than one) inherit <c>onnx-init</c>, the name of the thread that built it
/// (Linux threads take their creator's name; names are cut to 15 characters).
/// </summary>
internal static class OnnxThreads
{
    /// <summary>What every model thread's name starts with.</summary>
    public const string Prefix = "onnx-";

    /// <summary>The thread sessions are built on, and the name their intra-op threads inherit.</summary>
    public const string Init = "onnx-init";

    /// <summary>A text generation's thread, while it generates.</summary>
    public const string Generation = "onnx-gen";

    /// <summary>The name of run thread <paramref name="index"/> of a model.</summary>
    public static string Run(int index) => $"onnx-run-{index}";

    /// <summary>
    /// Calls <paramref name="create"/> (which builds an ONNX Runtime session) on a short-lived thread
    /// named <see cref="Init"/> and returns its result or rethrows its exception: the intra-op
    /// threads the session starts are named <c>onnx-init</c>, not after the caller (a pool thread).
    /// The caller waits; a thread costs a fraction of a millisecond against a session's build.
    /// </summary>
    public static T Create<T>(Func<T> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        T result = default!;
        ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = create();
            }
            catch (Exception e)
            {
                error = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            Name = Init,
            IsBackground = true,
        };
        thread.Start();
        thread.Join();
        error?.Throw();
        return result;
    }

    /// <summary>
    /// Names the calling thread <paramref name="name"/> until the scope is disposed, then gives it
    /// back its name. A pool thread is left alone (the pool names its own threads), and so is one
    /// without a name (setting <see cref="Thread.Name"/> back to null leaves the OS name as it was).
    /// </summary>
    public static NameScope Rename(string name) => new(name);

    /// <summary>A thread's borrowed name; disposing gives the old one back.</summary>
    public readonly struct NameScope : IDisposable
    {
        private readonly Thread? _thread;
        private readonly string? _previous;

        internal NameScope(string name)
        {
            var thread = Thread.CurrentThread;
            if (thread.IsThreadPoolThread || thread.Name is null || thread.Name == name)
            {
                return;
            }

            _thread = thread;
            _previous = thread.Name;
            thread.Name = name;
        }

        public void Dispose()
        {
            if (_thread is not null)
            {
                _thread.Name = _previous;
            }
        }
    }
}
