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

    /// <summary>The channel on which workers hear that a running job was cancelled (the message is the job id).</summary>
    public const string CancelChannel = "jobs:cancel";
}
