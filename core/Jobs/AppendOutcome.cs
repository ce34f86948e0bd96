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

    /// <summary>
    /// A run's start only: the job is running under another run's lease, which is still live
    /// (<see cref="AppendResult.LeaseRemainingMs"/> says for how long); nothing was written.
    /// </summary>
    Leased,

    /// <summary>A run's append: another run holds the job's lease now (it took over); nothing was written.</summary>
    Fenced,
}

/// <summary>The outcome and, when appended, the event's sequence number.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Seq">The appended event's sequence number (0 when nothing was appended).</param>
/// <param name="CancelRequested">When appended: the record said a cancel of the job was requested (read in the same step).</param>
/// <param name="LeaseRemainingMs">When <see cref="AppendOutcome.Leased"/>: how long the other run's lease lasts yet, in ms.</param>
public readonly record struct AppendResult(AppendOutcome Outcome, long Seq, bool CancelRequested = false, long LeaseRemainingMs = 0);
