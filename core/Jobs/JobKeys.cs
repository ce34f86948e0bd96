namespace InferenceGateway.Core.Jobs;

/// <summary>
/// Redis names for a job. The id sits in a hash tag so a job's record and log share a cluster slot
/// and one Lua script can touch both.
/// </summary>
public static class JobKeys
{
    public static string Record(string jobId) => $"job:{{{jobId}}}";

    public static string Events(string jobId) => $"job:{{{jobId}}}:events";

    public static string Notify(string jobId) => $"job:{{{jobId}}}:notify";

    /// <summary>A job's input, when it was too large to carry on the queue (a claim check, <see cref="JobInputs"/>).</summary>
    public static string Input(string jobId) => $"job:{{{jobId}}}:input";

    /// <summary>
    /// The outbox of a queue: the jobs whose message may not have been sent yet, scored by
    /// <c>createdAt</c> (Unix ms). The script that creates a record with its message adds the job;
    /// the gateway removes it once the send succeeded; the start and every end of the job remove it
    /// (<see cref="JobScripts"/>); the reconciler re-sends what stays longer than a few seconds and
    /// removes members whose record is gone. A permanent key (no TTL): it holds only jobs in flight
    /// to the queue. The scripts build the same names from the record's <see cref="JobFields.Queue"/>.
    /// </summary>
    public static string Unsent(string queueName) => $"jobs:{{{queueName}}}:unsent";

    /// <summary>
    /// The jobs of a queue that nobody started yet, scored by <c>createdAt</c> (Unix ms) or, after a
    /// re-send, by when it was re-sent. Added with the record, removed by the start and every end of
    /// the job in the same script (and by the reconciler for records that are gone). A permanent key.
    /// </summary>
    public static string Queued(string queueName) => $"jobs:{{{queueName}}}:queued";

    /// <summary>
    /// The largest <c>createdAt</c> (Unix ms) of the jobs of a queue started so far, raised by the
    /// <c>started</c> transition: workers are taking jobs accepted up to then. A permanent key.
    /// </summary>
    public static string StartedWatermark(string queueName) => $"jobs:{{{queueName}}}:started-watermark";

    /// <summary>The lease of the one gateway that reconciles a queue (a token, with a TTL of <c>Jobs:Reconciler:LeaseDuration</c>).</summary>
    public static string ReconcilerLease(string queueName) => $"jobs:{{{queueName}}}:reconciler";

    /// <summary>The channel on which workers hear that a running job was cancelled (the message is the job id).</summary>
    public const string CancelChannel = "jobs:cancel";
}
