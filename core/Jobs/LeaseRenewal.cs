namespace InferenceGateway.Core.Jobs;

/// <summary>What renewing a run's lease (<see cref="RedisJobStore.RenewLeaseAsync"/>) found.</summary>
public enum LeaseRenewal
{
    /// <summary>The run holds the lease; it lasts another lease length from now.</summary>
    Renewed,

    /// <summary>Renewed, and the client asked to cancel the job: the run should stop and record <c>cancelled</c>.</summary>
    CancelRequested,

    /// <summary>Another run took the lease over: this run must stop and write nothing more.</summary>
    Fenced,

    /// <summary>The job ended (or its record is gone): nothing to hold.</summary>
    Ended,
}
