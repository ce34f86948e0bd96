using System.Globalization;

namespace InferenceGateway.Core.Jobs;

/// <summary>
/// Redis names and counter fields of a tenant's usage: one hash of running totals and one per UTC
/// day, each field an integer counter (<c>invocations</c>, <c>billedMs</c>, <c>model:{name}:billedMs</c>, ...).
/// </summary>
public static class UsageKeys
{
    public const string Invocations = "invocations";
    public const string BilledMs = "billedMs";
    public const string InitMs = "initMs";
    public const string ExecutionMs = "executionMs";
    public const string ColdStarts = "coldStarts";
    public const string Texts = "texts";
    public const string StatusPrefix = "status:";
    public const string ModelPrefix = "model:";

    public static string Total(string tenant) => $"usage:{{{tenant}}}";

    public static string Day(string tenant, DateTimeOffset at) =>
        $"usage:{{{tenant}}}:{at.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";

    /// <summary>The counters one invocation adds, given the terminal event that ended it.</summary>
    public static IReadOnlyList<KeyValuePair<string, long>> Counters(Invocation invocation, string terminalType) =>
    [
        new(Invocations, 1),
        new(BilledMs, invocation.BilledMs),
        new(InitMs, invocation.InitMs),
        new(ExecutionMs, invocation.ExecutionMs),
        new(ColdStarts, invocation.ColdStart ? 1 : 0),
        new(Texts, invocation.Texts),
        new(StatusPrefix + terminalType, 1),
        new($"{ModelPrefix}{invocation.Model}:{Invocations}", 1),
        new($"{ModelPrefix}{invocation.Model}:{BilledMs}", invocation.BilledMs),
    ];
}
