namespace InferenceGateway.Contracts;

/// <summary>The statuses a job record moves through.</summary>
public static class JobStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string TimedOut = "timed_out";

    /// <summary>Waited in the queue past its time to live and never ran.</summary>
    public const string Expired = "expired";

    public static bool IsTerminal(string? status) =>
        status is Completed or Failed or Cancelled or TimedOut or Expired;
}
