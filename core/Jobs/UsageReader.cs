using System.Globalization;
using StackExchange.Redis;

namespace InferenceGateway.Core.Jobs;

/// <summary>Reads a tenant's usage counters (written atomically with each job's terminal event).</summary>
public sealed class UsageReader(IConnectionMultiplexer redis, TimeProvider time)
{
    /// <summary>The tenant's running totals and the last <paramref name="days"/> UTC days, today included.</summary>
    public async Task<TenantUsage> GetAsync(string tenant, int days)
    {
        var db = redis.GetDatabase();
        var today = time.GetUtcNow();
        var totalTask = db.HashGetAllAsync(UsageKeys.Total(tenant));
        var dayTasks = Enumerable.Range(0, days)
            .Select(i => today.AddDays(-i))
            .Select(d => (Day: DateOnly.FromDateTime(d.UtcDateTime), Task: db.HashGetAllAsync(UsageKeys.Day(tenant, d))))
            .ToList();
        var total = Summarise(await totalTask);
        var perDay = new List<DailyUsage>();
        foreach (var (day, task) in dayTasks)
        {
            var entries = await task;
            if (entries.Length > 0)
            {
                perDay.Add(new DailyUsage(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Summarise(entries)));
            }
        }

        return new TenantUsage(tenant, total, perDay);
    }

    private static UsageSummary Summarise(HashEntry[] entries)
    {
        var counters = entries.ToDictionary(e => e.Name.ToString(), e => (long)e.Value, StringComparer.Ordinal);
        long Counter(string name) => counters.GetValueOrDefault(name);
        var byStatus = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byModel = new SortedDictionary<string, ModelUsage>(StringComparer.Ordinal);
        foreach (var (name, value) in counters)
        {
            if (name.StartsWith(UsageKeys.StatusPrefix, StringComparison.Ordinal))
            {
                byStatus[name[UsageKeys.StatusPrefix.Length..]] = value;
            }
            else if (name.StartsWith(UsageKeys.ModelPrefix, StringComparison.Ordinal))
            {
                var rest = name[UsageKeys.ModelPrefix.Length..];
                var split = rest.LastIndexOf(':');
                if (split <= 0)
                {
                    continue;
                }

                var model = rest[..split];
                var current = byModel.GetValueOrDefault(model) ?? new ModelUsage(0, 0);
                byModel[model] = rest[(split + 1)..] switch
                {
                    UsageKeys.Invocations => current with { Invocations = value },
                    UsageKeys.BilledMs => current with { BilledMs = value },
                    _ => current,
                };
            }
        }

        return new UsageSummary(
            Counter(UsageKeys.Invocations),
            Counter(UsageKeys.BilledMs),
            Counter(UsageKeys.InitMs),
            Counter(UsageKeys.ExecutionMs),
            Counter(UsageKeys.ColdStarts),
            Counter(UsageKeys.Texts),
            byStatus,
            byModel);
    }
}

/// <summary>A tenant's usage: running totals and recent days.</summary>
public sealed record TenantUsage(string Tenant, UsageSummary Total, IReadOnlyList<DailyUsage> Days);

/// <summary>One UTC day of usage.</summary>
public sealed record DailyUsage(string Date, UsageSummary Usage);

/// <summary>Counters over a period: invocations and billed milliseconds, by terminal status and by model.</summary>
public sealed record UsageSummary(
    long Invocations,
    long BilledMs,
    long InitMs,
    long ExecutionMs,
    long ColdStarts,
    long Texts,
    IReadOnlyDictionary<string, long> ByStatus,
    IReadOnlyDictionary<string, ModelUsage> ByModel);

/// <summary>Usage of one model.</summary>
public sealed record ModelUsage(long Invocations, long BilledMs);
