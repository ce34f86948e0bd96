using System.Text.Json;
using StackExchange.Redis;

namespace InferenceGateway.Core.Models;

/// <summary>
/// What workers serve, in Redis: a hash of model name to its spec (written by every worker that
/// serves it, kept while workers scale to zero), and per model a sorted set of worker ids scored by
/// their last heartbeat, plus the subset that holds the model loaded (warm).
/// </summary>
public sealed class ModelRegistry(IConnectionMultiplexer redis, TimeProvider time)
{
    /// <summary>A worker that has not been heard from for this long no longer counts as serving.</summary>
    public static readonly TimeSpan LiveWindow = TimeSpan.FromSeconds(30);

    private const string SpecsKey = "models";

    /// <summary>Specs of the models gateways serve in-process (<c>placement: "edge"</c>), apart from the workers' so neither overwrites the other.</summary>
    private const string EdgeSpecsKey = "models:edge";

    private static string WorkersKey(string model) => $"models:{{{model}}}:workers";

    private static string WarmKey(string model) => $"models:{{{model}}}:warm";

    private static string EdgeKey(string model) => $"models:{{{model}}}:edge";

    /// <summary>Records that <paramref name="workerId"/> serves <paramref name="model"/> now, warm or not.</summary>
    public async Task HeartbeatAsync(string workerId, string model, string specJson, bool warm)
    {
        var db = redis.GetDatabase();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var stale = now - (long)LiveWindow.TotalMilliseconds;
        var batch = db.CreateBatch();
        var tasks = new List<Task>
        {
            batch.HashSetAsync(SpecsKey, model, specJson),
            batch.SortedSetAddAsync(WorkersKey(model), workerId, now),
            batch.SortedSetRemoveRangeByScoreAsync(WorkersKey(model), double.NegativeInfinity, stale),
            warm ? batch.SortedSetAddAsync(WarmKey(model), workerId, now) : batch.SortedSetRemoveAsync(WarmKey(model), workerId),
            batch.SortedSetRemoveRangeByScoreAsync(WarmKey(model), double.NegativeInfinity, stale),
        };
        batch.Execute();
        await Task.WhenAll(tasks);
    }

    /// <summary>Removes a stopping worker at once instead of waiting for its heartbeat to go stale.</summary>
    public async Task LeaveAsync(string workerId, IEnumerable<string> models)
    {
        var db = redis.GetDatabase();
        foreach (var model in models)
        {
            await db.SortedSetRemoveAsync(WorkersKey(model), workerId);
            await db.SortedSetRemoveAsync(WarmKey(model), workerId);
        }
    }

    /// <summary>
    /// Records that gateway <paramref name="instanceId"/> serves <paramref name="model"/> in-process
    /// (at the edge) now; <paramref name="specJson"/> carries <c>"placement": "edge"</c>.
    /// </summary>
    public async Task HeartbeatEdgeAsync(string instanceId, string model, string specJson)
    {
        var db = redis.GetDatabase();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var batch = db.CreateBatch();
        var tasks = new List<Task>
        {
            batch.HashSetAsync(EdgeSpecsKey, model, specJson),
            batch.SortedSetAddAsync(EdgeKey(model), instanceId, now),
            batch.SortedSetRemoveRangeByScoreAsync(EdgeKey(model), double.NegativeInfinity, now - (long)LiveWindow.TotalMilliseconds),
        };
        batch.Execute();
        await Task.WhenAll(tasks);
    }

    /// <summary>Removes a stopping gateway's edge models at once.</summary>
    public async Task LeaveEdgeAsync(string instanceId, IEnumerable<string> models)
    {
        var db = redis.GetDatabase();
        foreach (var model in models)
        {
            await db.SortedSetRemoveAsync(EdgeKey(model), instanceId);
        }
    }

    /// <summary>
    /// Every model any worker or gateway has served, with how many live and warm workers serve it
    /// now and how many gateways serve it at the edge. A model only gateways serve has no worker spec
    /// (<see cref="RegisteredModel.Spec"/> is its edge spec) and no workers.
    /// </summary>
    public async Task<IReadOnlyList<RegisteredModel>> ListAsync()
    {
        var db = redis.GetDatabase();
        var specs = await db.HashGetAllAsync(SpecsKey);
        var edgeSpecs = await db.HashGetAllAsync(EdgeSpecsKey);
        var live = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)LiveWindow.TotalMilliseconds;
        var edge = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var entry in edgeSpecs)
        {
            if (Parse(entry.Value) is { } spec)
            {
                edge[entry.Name.ToString()] = spec;
            }
        }

        var workerSpecs = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var entry in specs)
        {
            if (Parse(entry.Value) is { } spec)
            {
                workerSpecs[entry.Name.ToString()] = spec;
            }
        }

        var models = new List<RegisteredModel>(workerSpecs.Count + edge.Count);
        foreach (var name in workerSpecs.Keys.Union(edge.Keys).Order(StringComparer.Ordinal))
        {
            var workers = await db.SortedSetLengthAsync(WorkersKey(name), live, double.PositiveInfinity);
            var warm = await db.SortedSetLengthAsync(WarmKey(name), live, double.PositiveInfinity);
            var edgeInstances = edge.ContainsKey(name) ? await db.SortedSetLengthAsync(EdgeKey(name), live, double.PositiveInfinity) : 0;
            var hasWorkerSpec = workerSpecs.TryGetValue(name, out var workerSpec);
            models.Add(new RegisteredModel(
                name,
                hasWorkerSpec ? workerSpec : edge[name],
                (int)workers,
                (int)warm,
                (int)edgeInstances,
                edge.TryGetValue(name, out var edgeSpec) ? edgeSpec : null,
                hasWorkerSpec));
        }

        return models;
    }

    private static JsonElement? Parse(RedisValue value)
    {
        try
        {
            return JsonDocument.Parse(value.ToString()).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// A model as the registry knows it: its spec as the worker published it (or, for a model only
/// gateways serve, the edge spec), and who serves it now: live and warm workers (the queue path),
/// and gateways that serve it in-process (<paramref name="EdgeInstances"/>, with <paramref name="EdgeSpec"/>).
/// </summary>
public sealed record RegisteredModel(
    string Name,
    JsonElement Spec,
    int Workers,
    int WarmWorkers,
    int EdgeInstances = 0,
    JsonElement? EdgeSpec = null,
    bool QueueServed = true);
