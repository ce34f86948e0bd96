namespace InferenceGateway.Core.Jobs;

/// <summary>
/// A job's webhook as stored on its record: the target, the event types it wants (<see cref="All"/>
/// for every one) and the outbox stream the append scripts write to when such an event is appended.
/// </summary>
public sealed record JobWebhook(string Url, IReadOnlyList<string> Events, string Outbox)
{
    /// <summary>The filter that selects every event type.</summary>
    public const string All = "all";

    /// <summary>The filter as the Lua scripts match it: <c>*</c>, or the types between commas (<c>,completed,failed,</c>).</summary>
    public string EncodedEvents => Events.Contains(All) ? "*" : "," + string.Join(',', Events) + ",";

    /// <summary>The inverse of <see cref="EncodedEvents"/>.</summary>
    public static IReadOnlyList<string> DecodeEvents(string encoded) =>
        encoded == "*" ? [All] : encoded.Split(',', StringSplitOptions.RemoveEmptyEntries);
}
