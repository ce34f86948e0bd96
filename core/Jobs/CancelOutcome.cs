namespace InferenceGateway.Core.Jobs;

/// <summary>What a cancel request did.</summary>
public enum CancelOutcome
{
    /// <summary>The job was still queued and is now <c>cancelled</c>; it will never run.</summary>
    Cancelled,

    /// <summary>The job is running; its worker was told and will stop and record <c>cancelled</c>.</summary>
    Requested,

    /// <summary>The job had already ended; nothing changed.</summary>
    AlreadyEnded,

    /// <summary>There is no such job.</summary>
    NoSuchJob,
}
