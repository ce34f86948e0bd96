using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace InferenceGateway.Inference;

/// <summary>
/// Graph-optimised models on disk, in ONNX Runtime's own (flatbuffer) format, so a later cold start (a new process) reads the optimised graph
/// instead of optimising again. A file is named by a hash of what it was made from (the source
/// model's bytes, the ONNX Runtime version, the execution provider, the optimisation level), so a
/// stale one is never used; it is written to a temporary name and renamed, with a sidecar holding
/// its length and XxHash128, so a crash never leaves a half file that passes for a whole one.
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

    /// <summary>Identity of a model file: XxHash128 of its bytes.</summary>
    public static string FileIdentity(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var hash = new XxHash128();
        hash.Append(stream);
        return "file:" + Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    public string ModelPath(string key) => Path.Combine(Directory, key + ".ort");

    /// <summary>
    /// The cached model for <paramref name="key"/>, read into a pinned array (ONNX Runtime uses its
    /// bytes in place for the weights, so they must not move), when it is whole: its length and hash
    /// match its sidecar. Null when there is none or it is damaged.
    /// </summary>
    public byte[]? TryRead(string key)
    {
        var path = ModelPath(key);
        try
        {
            var sidecar = File.ReadAllText(path + ".sum").Split(' ', StringSplitOptions.TrimEntries);
            if (sidecar.Length != 2 || !long.TryParse(sidecar[0], CultureInfo.InvariantCulture, out var length) || length <= 0 || length > Array.MaxLength)
            {
                return null;
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            if (stream.Length != length)
            {
                return null;
            }

            var bytes = ModelBuffers.AllocatePinned((int)length);
            stream.ReadExactly(bytes);
            var sum = Convert.ToHexStringLower(XxHash128.Hash(bytes));
            return string.Equals(sum, sidecar[1], StringComparison.Ordinal) ? bytes : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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
        string sum;
        using (var stream = new FileStream(temporaryPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan))
        {
            var hash = new XxHash128();
            hash.Append(stream);
            sum = string.Create(CultureInfo.InvariantCulture, $"{stream.Length} {Convert.ToHexStringLower(hash.GetCurrentHash())}");
        }

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
