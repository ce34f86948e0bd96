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

    private static string WorkersKey(string model) => $"models:{{{model}}}:workers";

    private static string WarmKey(string model) => $"models:{{{model}}}:warm";

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

    /// <summary>Every model any worker has served, with how many live and warm workers serve it now.</summary>
    public async Task<IReadOnlyList<RegisteredModel>> ListAsync()
    {
        var db = redis.GetDatabase();
        var specs = await db.HashGetAllAsync(SpecsKey);
        var live = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)LiveWindow.TotalMilliseconds;
        var models = new List<RegisteredModel>(specs.Length);
        foreach (var entry in specs.OrderBy(e => e.Name.ToString(), StringComparer.Ordinal))
        {
            var name = entry.Name.ToString();
            JsonElement spec;
            try
            {
                spec = JsonDocument.Parse(entry.Value.ToString()).RootElement.Clone();
            }
            catch (JsonException)
            {
                continue;
            }

            var workers = await db.SortedSetLengthAsync(WorkersKey(name), live, double.PositiveInfinity);
            var warm = await db.SortedSetLengthAsync(WarmKey(name), live, double.PositiveInfinity);
            models.Add(new RegisteredModel(name, spec, (int)workers, (int)warm));
        }

        return models;
    }
}

/// <summary>A model as the registry knows it: its spec as the worker published it, and who serves it now.</summary>
public sealed record RegisteredModel(string Name, JsonElement Spec, int Workers, int WarmWorkers);
