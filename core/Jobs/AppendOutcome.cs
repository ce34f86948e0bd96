namespace InferenceGateway.Core.Jobs;

/// <summary>What happened to an attempt to append to a job's log.</summary>
public enum AppendOutcome
{
    /// <summary>The event was recorded.</summary>
    Appended,

    /// <summary>There is no such job (never created, or expired).</summary>
    NoSuchJob,

    /// <summary>The job had already ended; its log is closed and nothing was written.</summary>
    AlreadyTerminal,

    /// <summary>Creation only: a job with this id already exists.</summary>
    AlreadyExists,
}

/// <summary>The outcome and, when appended, the event's sequence number.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Seq">The appended event's sequence number (0 when nothing was appended).</param>
/// <param name="CancelRequested">When appended: the record said a cancel of the job was requested (read in the same step).</param>
public readonly record struct AppendResult(AppendOutcome Outcome, long Seq, bool CancelRequested = false);
