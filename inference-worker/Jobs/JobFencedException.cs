namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// The run lost its job's lease to another run (it took over after this one's lease lapsed): it
/// stopped and recorded nothing more, and its message belongs to the run that took over, so the
/// event source neither deletes nor releases it.
/// </summary>
public sealed class JobFencedException(string jobId)
    : Exception($"Another run took over job {jobId}; this run stopped without recording anything more.");
