using System.Globalization;
using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using System.Text;

namespace InferenceGateway.Inference.Onnx;

/// <summary>
/// Graph-optimised models on disk, in ONNX Runtime's own (flatbuffer) format, so a later cold start (a new process) reads the optimised graph
/// instead of optimising again. A file is named by a hash of what it was made from (the source
/// model's bytes, the ONNX Runtime version, the execution provider, the optimisation level), so a
/// stale one is never used; it is written to a temporary name and renamed, with a sidecar holding
/// its length and XxHash128, so a crash never leaves a half file that passes for a whole one.
/// A load maps the file (ONNX Runtime's <c>session.use_memory_mapped_ort_model</c>): the weights are
/// used where they lie in the page cache, not copied into fresh memory first, and the hash check
/// reads the same pages through a map of its own.
/// </summary>
internal sealed class OptimizedModelCache(string directory)
{
    private const string Format = "ort-format-extended-v1";

    public string Directory { get; } = directory;

    /// <summary>The cache key of a model: its name for people, then a hash of everything that shapes the optimised file.</summary>
    public static string Key(string modelName, string sourceIdentity, string ortVersion, ExecutionProviderKind provider)
    {
        var material = string.Join('\n', Format, sourceIdentity, ortVersion, provider.ToString());
        var hash = Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(material)));
        var safeName = new string([.. modelName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')]);
        return $"{safeName}-{hash}";
    }

    /// <summary>
    /// Identity of a model file: XxHash128 of its bytes, read as a stream (a user's model file may be
    /// rewritten in place while it is read; through a map that would fault the process).
    /// </summary>
    public static string FileIdentity(string path) => "file:" + Convert.ToHexStringLower(StreamHash(path, out _));

    public string ModelPath(string key) => Path.Combine(Directory, key + ".ort");

    /// <summary>
    /// The cached model for <paramref name="key"/> when its sidecar is there and the file has the
    /// length it records; whether its bytes are whole is <see cref="IsWhole"/>'s to say (a load runs
    /// it beside ONNX Runtime's build of the session). Null when there is none or it is cut short.
    /// </summary>
    public CachedModel? TryFind(string key)
    {
        var path = ModelPath(key);
        try
        {
            var sidecar = File.ReadAllText(path + ".sum").Split(' ', StringSplitOptions.TrimEntries);
            if (sidecar.Length != 2 || !long.TryParse(sidecar[0], CultureInfo.InvariantCulture, out var length) || length <= 0 || length > Array.MaxLength)
            {
                return null;
            }

            return new FileInfo(path).Length == length ? new CachedModel(path, length, sidecar[1]) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether <paramref name="model"/>'s file still has its length and the XxHash128 its sidecar
    /// records. False, never an exception, when it cannot be read whole (gone, cut short, not mappable).
    /// </summary>
    public static bool IsWhole(CachedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            return Hash(model.Path, model.Length) is { } hash && string.Equals(Convert.ToHexStringLower(hash), model.Sum, StringComparison.Ordinal);
        }
        catch (Exception)
        {
            // Whatever went wrong (a file emptied since it was opened makes the map's creation throw
            // ArgumentException), the entry is not known to be whole: the caller rebuilds it.
            return false;
        }
    }

    /// <summary>
    /// XxHash128 of one of the cache's own files, read through a read-only memory map (the page
    /// cache's pages mapped in, not copied) and hashed in one call: a hashing loop called once per
    /// buffer ran as unoptimised code in a young process (120 ms against 35 ms for 91 MB, measured
    /// here). Null when the file's length is not <paramref name="expectedLength"/>. Only for files
    /// the cache writes (to a temporary name, then renamed) and never changes in place: a mapped
    /// file cut short while it is read would fault the process.
    /// </summary>
    private static unsafe byte[]? Hash(string path, long expectedLength)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        if (stream.Length != expectedLength || expectedLength is <= 0 or > int.MaxValue)
        {
            return null;
        }

        using var map = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        using var view = map.CreateViewAccessor(0, expectedLength, MemoryMappedFileAccess.Read);
        byte* start = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
        try
        {
            return XxHash128.Hash(new ReadOnlySpan<byte>(start + view.PointerOffset, (int)expectedLength));
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    /// <summary>XxHash128 of a file read as a stream, and its length.</summary>
    private static byte[] StreamHash(string path, out long length)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var hash = new XxHash128();
        hash.Append(stream);
        length = stream.Length;
        return hash.GetCurrentHash();
    }

    /// <summary>A fresh temporary path for ONNX Runtime to write the optimised model to.</summary>
    public string TemporaryPath(string key)
    {
        System.IO.Directory.CreateDirectory(Directory);
        return Path.Combine(Directory, $"{key}.{Guid.NewGuid():N}.tmp");
    }

    /// <summary>Publishes a finished temporary file under <paramref name="key"/>: sidecar first, then the atomic renames.</summary>
    public void Commit(string key, string temporaryPath)
    {
        var path = ModelPath(key);
        var hash = StreamHash(temporaryPath, out var length);
        var sum = string.Create(CultureInfo.InvariantCulture, $"{length} {Convert.ToHexStringLower(hash)}");

        // Remove the old sidecar before the model changes, so no moment pairs a new model with an old sum.
        File.Delete(path + ".sum");
        File.Move(temporaryPath, path, overwrite: true);
        var sumTemporary = temporaryPath + ".sum";
        File.WriteAllText(sumTemporary, sum);
        File.Move(sumTemporary, path + ".sum", overwrite: true);
    }

    /// <summary>Removes a cached model (a bad one), ignoring files already gone.</summary>
    public void Remove(string key)
    {
        var path = ModelPath(key);
        TryDelete(path + ".sum");
        TryDelete(path);
    }

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a file another process holds is that process's to clean.
        }
    }
}

/// <summary>A cached model file and what its sidecar says it holds.</summary>
internal sealed record CachedModel(string Path, long Length, string Sum);
