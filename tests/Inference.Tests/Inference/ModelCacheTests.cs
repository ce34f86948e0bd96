using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Inference.Onnx;

namespace InferenceGateway.Tests.Inference;

/// <summary>The optimised-model cache: same embeddings as an uncached load, and a damaged file is rebuilt, never fatal.</summary>
[TestFixture]
public sealed class ModelCacheTests
{
    private string _cache = null!;

    [SetUp]
    public void CreateCache() => _cache = InferenceTestModels.TempDirectory("model-cache");

    [TearDown]
    public void DeleteCache() => InferenceTestModels.DeleteDirectory(_cache);

    [Test]
    public void Load_FromTheCache_EmbedsAsTheUncachedModelDoes()
    {
        using var uncached = MiniLmEmbedder.Load(new InferenceOptions { ModelCacheDirectory = string.Empty });
        using var first = MiniLmEmbedder.Load(new InferenceOptions { ModelCacheDirectory = _cache });
        using var cached = MiniLmEmbedder.Load(new InferenceOptions { ModelCacheDirectory = _cache });

        Assert.That(uncached.LoadInfo.Cache, Is.EqualTo(ModelCacheOutcome.Disabled));
        Assert.That(first.LoadInfo.Cache, Is.EqualTo(ModelCacheOutcome.Written));
        Assert.That(cached.LoadInfo.Cache, Is.EqualTo(ModelCacheOutcome.Hit));
        Assert.That(Directory.GetFiles(_cache, "*.tmp"), Is.Empty, "no temporary file is left behind");
        var expected = uncached.Embed(InferenceTestModels.Sentences);
        var fromWrite = first.Embed(InferenceTestModels.Sentences);
        var fromCache = cached.Embed(InferenceTestModels.Sentences);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.That(Similarity.Cosine(fromCache[i], expected[i]), Is.GreaterThanOrEqualTo(0.9999), $"cached, sentence {i}");
            Assert.That(Similarity.Cosine(fromWrite[i], expected[i]), Is.GreaterThanOrEqualTo(0.9999), $"first load, sentence {i}");
        }
    }

    [TestCase("truncated")]
    [TestCase("garbage")]
    [TestCase("weights changed")]
    [TestCase("sidecar missing")]
    public void Load_WithADamagedCacheFile_RebuildsItAndEmbeds(string damage)
    {
        using (MiniLmEmbedder.Load(new InferenceOptions { ModelCacheDirectory = _cache }))
        {
        }

        var file = Directory.GetFiles(_cache, "*.ort").Single();
        switch (damage)
        {
            case "truncated":
                using (var stream = new FileStream(file, FileMode.Open))
                {
                    stream.SetLength(stream.Length / 3);
                }

                break;
            case "garbage":
                var bytes = File.ReadAllBytes(file);
                Random.Shared.NextBytes(bytes.AsSpan(0, 4096));
                File.WriteAllBytes(file, bytes);
                break;
            case "weights changed":
                // Same length, a valid structure: ONNX Runtime builds a session from it; only the hash tells.
                using (var stream = new FileStream(file, FileMode.Open))
                {
                    stream.Position = stream.Length / 2;
                    stream.Write(new byte[4096]);
                }

                break;
            default:
                File.Delete(file + ".sum");
                break;
        }

        using var rebuilt = MiniLmEmbedder.Load(new InferenceOptions { ModelCacheDirectory = _cache });
        using var again = MiniLmEmbedder.Load(new InferenceOptions { ModelCacheDirectory = _cache });

        Assert.That(rebuilt.LoadInfo.Cache, Is.EqualTo(ModelCacheOutcome.Written));
        Assert.That(rebuilt.LoadInfo.Problem, Does.Contain("incomplete or damaged; rebuilt"), "the hash or the sidecar caught it");
        if (OperatingSystem.IsLinux())
        {
            Assert.That(MappedFiles().Where(f => f.StartsWith(_cache, StringComparison.Ordinal) && f.EndsWith("(deleted)", StringComparison.Ordinal)), Is.Empty, "a session built from the rejected file was disposed");
        }

        Assert.That(again.LoadInfo.Cache, Is.EqualTo(ModelCacheOutcome.Hit));
        var vector = rebuilt.Embed(["This is an example sentence"])[0];
        Assert.That(vector.Take(3), Is.EqualTo(new[] { 0.0677f, 0.0635f, 0.0487f }).Within(0.001f));
    }

    [Test]
    public void Load_FromTheCache_MapsTheFileInsteadOfCopyingIt()
    {
        Assume.That(OperatingSystem.IsLinux(), "reads /proc/self/maps");
        using (MiniLmEmbedder.Load(new InferenceOptions { ModelCacheDirectory = _cache }))
        {
        }

        var file = Directory.GetFiles(_cache, "*.ort").Single();
        Assert.That(MappedFiles(), Does.Not.Contain(file), "no map of the file before the cache hit");

        var cached = MiniLmEmbedder.Load(new InferenceOptions { ModelCacheDirectory = _cache });
        try
        {
            Assert.That(cached.LoadInfo.Cache, Is.EqualTo(ModelCacheOutcome.Hit));
            Assert.That(cached.LoadInfo.Problem, Is.Null);
            Assert.That(MappedFiles(), Does.Contain(file), "the session's weights are the mapped file's pages");
            Assert.That(cached.Embed(["This is an example sentence"])[0].Take(3), Is.EqualTo(new[] { 0.0677f, 0.0635f, 0.0487f }).Within(0.001f));
        }
        finally
        {
            cached.Dispose();
        }

        Assert.That(MappedFiles(), Does.Not.Contain(file), "disposing the model unmaps the file");
    }

    [Test]
    public void ModelBuffer_IsPinnedAndAdvisedForHugePages()
    {
        Assume.That(OperatingSystem.IsLinux() && File.Exists("/sys/kernel/mm/transparent_hugepage/enabled"), "transparent huge pages are a Linux feature");
        const int Length = 16 << 20;

        var bytes = ModelBuffers.AllocatePinned(Length);

        Assert.That(bytes, Has.Length.EqualTo(Length));
        Assert.That(GC.GetGeneration(bytes), Is.EqualTo(GC.MaxGeneration), "on the pinned object heap: ONNX Runtime may keep pointers into it");
        var interior = (ulong)System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(bytes, Length / 2);
        Assert.That(VmFlags(interior), Does.Contain("hg"), "madvise(MADV_HUGEPAGE) on the array's memory");
        GC.KeepAlive(bytes);
    }

    [Test]
    public void Load_WithAnUnwritableCacheDirectory_LoadsWithoutTheCache()
    {
        var notADirectory = Path.Combine(_cache, "file");
        File.WriteAllText(notADirectory, "in the way");

        using var embedder = MiniLmEmbedder.Load(new InferenceOptions { ModelCacheDirectory = Path.Combine(notADirectory, "cache") });

        Assert.That(embedder.LoadInfo.Cache, Is.EqualTo(ModelCacheOutcome.Unavailable));
        Assert.That(embedder.Embed(["hello"])[0], Has.Length.EqualTo(384));
    }

    /// <summary>The files this process has mapped (/proc/self/maps).</summary>
    private static HashSet<string> MappedFiles() =>
        [.. File.ReadLines("/proc/self/maps").Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length == 6).Select(f => f[5].Trim())];

    /// <summary>The kernel's flags for the mapping that holds <paramref name="address"/> (/proc/self/smaps).</summary>
    private static string[] VmFlags(ulong address)
    {
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var range = line.Split(' ', 2)[0].Split('-');
            if (range.Length == 2 && ulong.TryParse(range[0], System.Globalization.NumberStyles.HexNumber, null, out var start)
                && ulong.TryParse(range[1], System.Globalization.NumberStyles.HexNumber, null, out var end))
            {
                inside = address >= start && address < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        return [];
    }
}
