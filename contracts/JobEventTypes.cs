namespace InferenceGateway.Contracts;

/// <summary>The event types of a job's log.</summary>
public static class JobEventTypes
{
    public const string Queued = "queued";
    public const string Started = "started";
    public const string Progress = "progress";
    public const string Token = "token";

    /// <summary>A slice of a streaming job's result, ready before the job ends (<c>input.stream: true</c>).</summary>
    public const string Chunk = "chunk";

    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string TimedOut = "timed_out";
    public const string Expired = "expired";

    /// <summary>True for the event types after which a job's log never grows.</summary>
    public static bool IsTerminal(string type) =>
        type is Completed or Failed or Cancelled or TimedOut or Expired;
}
