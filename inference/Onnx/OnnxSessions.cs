using InferenceGateway.Inference.Hosting;
using Microsoft.ML.OnnxRuntime;

namespace InferenceGateway.Inference.Onnx;

/// <summary>
/// ONNX Runtime sessions for a model: built from its source with the graph optimised (the
/// embedded all-MiniLM-L6-v2 or a <c>model.onnx</c>), or loaded from the optimised-model cache
/// (<see cref="OptimizedModelCache"/>) memory-mapped, with the thread and provider settings of
/// <see cref="InferenceOptions"/>. Shared by the embedder and the text generator.
/// </summary>
internal static class OnnxSessions
{
    /// <summary>The session for <paramref name="model"/>'s <c>Source</c> (a model.onnx unless <paramref name="embedded"/>), through the optimised-model cache; shared with the text generator.</summary>
    public static (InferenceSession Session, ModelLoadInfo Info) Create(string name, ModelOptions model, InferenceOptions options, ExecutionProviderSelection provider, bool embedded)
    {
        var cache = string.IsNullOrWhiteSpace(options.ModelCacheDirectory) ? null : new OptimizedModelCache(Path.GetFullPath(options.ModelCacheDirectory));
        if (cache is null)
        {
            return (Build(model, options, provider, embedded, optimizedPath: null), new ModelLoadInfo(ModelCacheOutcome.Disabled, null));
        }

        string key;
        try
        {
            var identity = embedded ? EmbeddedMiniLm.Identity() : OptimizedModelCache.FileIdentity(model.Source);
            key = OptimizedModelCache.Key(name, identity, OrtEnv.Instance().GetVersionString(), provider.Active);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (Build(model, options, provider, embedded, optimizedPath: null), new ModelLoadInfo(ModelCacheOutcome.Unavailable, ex.Message));
        }

        string? problem = null;
        if (cache.TryFind(key) is { } cached)
        {
            // The hash check runs beside the build (a cold start's two cores): ONNX Runtime
            // verifies the file's structure itself, and a session built from bytes the hash then
            // rejects is thrown away before anything runs on it.
            var whole = Task.Run(() => OptimizedModelCache.IsWhole(cached));
            InferenceSession? loaded = null;
            string? mapFailure = null;
            try
            {
                // Already optimised, in ORT format: no graph rewrites, and the weights are used in
                // place in the mapped file (page cache) instead of being read into fresh memory and
                // copied, which is most of what a load costs.
                loaded = LoadCached(options, provider, cached.Path, bytes: null);
            }
            catch (OnnxRuntimeException ex)
            {
                mapFailure = ex.Message.Trim();
            }
            catch
            {
                whole.Wait(); // IsWhole never throws; the load's own exception is the one to report
                throw;
            }

            if (!whole.GetAwaiter().GetResult())
            {
                loaded?.Dispose();
                problem = $"the cached model {cached.Path} is incomplete or damaged; rebuilt";
                cache.Remove(key);
            }
            else if (loaded is not null)
            {
                return (loaded, new ModelLoadInfo(ModelCacheOutcome.Hit, null));
            }
            else
            {
                // Whole, but it did not load mapped (a file system that cannot map files, say): from
                // a copy in memory, as loads did before, rather than rebuilding a good file each time.
                try
                {
                    var copy = LoadCached(options, provider, cached.Path, File.ReadAllBytes(cached.Path));
                    return (copy, new ModelLoadInfo(ModelCacheOutcome.Hit, $"the cached model {cached.Path} did not load mapped ({mapFailure}); loaded from a copy in memory"));
                }
                catch (Exception ex) when (ex is OnnxRuntimeException or IOException or UnauthorizedAccessException)
                {
                    problem = $"the cached model {cached.Path} did not load ({ex.Message.Trim()}); rebuilt";
                    cache.Remove(key);
                }
            }
        }
        else if (File.Exists(cache.ModelPath(key)))
        {
            problem = $"the cached model {cache.ModelPath(key)} is incomplete or damaged; rebuilt";
            cache.Remove(key);
        }

        string temporary;
        try
        {
            temporary = cache.TemporaryPath(key);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (Build(model, options, provider, embedded, optimizedPath: null), new ModelLoadInfo(ModelCacheOutcome.Unavailable, ex.Message));
        }

        InferenceSession session;
        try
        {
            session = Build(model, options, provider, embedded, temporary);
        }
        catch (OnnxRuntimeException ex)
        {
            // Saving the optimised graph is what failed, or the model itself is bad: try once without.
            OptimizedModelCache.TryDelete(temporary);
            return (Build(model, options, provider, embedded, optimizedPath: null), new ModelLoadInfo(ModelCacheOutcome.Unavailable, ex.Message.Trim()));
        }

        try
        {
            cache.Commit(key, temporary);
            return (session, new ModelLoadInfo(ModelCacheOutcome.Written, problem));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            OptimizedModelCache.TryDelete(temporary);
            return (session, new ModelLoadInfo(ModelCacheOutcome.Unavailable, problem ?? ex.Message));
        }
    }

    /// <summary>
    /// A session from a cached ORT-format model: mapped from <paramref name="path"/> with its
    /// weights used in place, or, given <paramref name="bytes"/>, from those (ONNX Runtime copies them).
    /// </summary>
    private static InferenceSession LoadCached(InferenceOptions options, ExecutionProviderSelection provider, string path, byte[]? bytes)
    {
        using var sessionOptions = NewSessionOptions(options, provider, GraphOptimizationLevel.ORT_DISABLE_ALL);
        sessionOptions.AddSessionConfigEntry("session.load_model_format", "ORT");
        if (bytes is not null)
        {
            return new InferenceSession(bytes, sessionOptions);
        }

        sessionOptions.AddSessionConfigEntry("session.use_memory_mapped_ort_model", "1");
        sessionOptions.AddSessionConfigEntry("session.use_ort_model_bytes_directly", "1");
        sessionOptions.AddSessionConfigEntry("session.use_ort_model_bytes_for_initializers", "1");
        return new InferenceSession(path, sessionOptions);
    }

    /// <summary>Builds the session from the source model, optimising its graph, and saves the optimised graph to <paramref name="optimizedPath"/> (ORT format) when given.</summary>
    private static InferenceSession Build(ModelOptions model, InferenceOptions options, ExecutionProviderSelection provider, bool embedded, string? optimizedPath)
    {
        // Saved graphs stop at the extended level: the layout rewrites above it are specific to the
        // CPU they ran on (and only matter for convolutions, not transformers).
        using var sessionOptions = NewSessionOptions(options, provider, optimizedPath is null ? GraphOptimizationLevel.ORT_ENABLE_ALL : GraphOptimizationLevel.ORT_ENABLE_EXTENDED);
        if (optimizedPath is not null)
        {
            sessionOptions.OptimizedModelFilePath = optimizedPath;
            sessionOptions.AddSessionConfigEntry("session.save_model_format", "ORT");
        }

        if (!embedded)
        {
            return new InferenceSession(model.Source, sessionOptions);
        }

        byte[] bytes;
        using (var stream = EmbeddedMiniLm.Open("model.onnx"))
        {
            bytes = ModelBuffers.AllocatePinned((int)stream.Length);
            stream.ReadExactly(bytes);
        }

        return new InferenceSession(bytes, sessionOptions);
    }

    private static SessionOptions NewSessionOptions(InferenceOptions options, ExecutionProviderSelection provider, GraphOptimizationLevel level)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = level,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        try
        {
            // Explicit: ONNX Runtime's own default (the physical cores) took one thread on a 2-core VM.
            sessionOptions.IntraOpNumThreads = ModelThreading.Resolve(options, provider.Active, Environment.ProcessorCount).IntraOpThreads;

            sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", options.AllowSpinning ? "1" : "0");
            provider.Apply(sessionOptions);
            return sessionOptions;
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }
    }
}
