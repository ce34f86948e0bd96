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
public readonly record struct AppendResult(AppendOutcome Outcome, long Seq);
