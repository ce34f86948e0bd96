using System.ComponentModel.DataAnnotations;
using InferenceGateway.Core.Jobs;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// What a job's queue message may carry. Section <c>Jobs</c>, beside the store's retention. A
/// message over <see cref="ClaimCheckBytes"/> leaves its input in Redis and carries a reference
/// (<see cref="JobInputs"/>); an input over <see cref="MaxInputBytes"/> is refused with 413.
/// </summary>
public sealed record JobMessageOptions
{
    public const string Section = JobStoreOptions.Section;

    /// <summary>
    /// The largest message body, in UTF-8 bytes, that carries its input itself; a larger one carries
    /// a reference to the input stored in Redis instead. Well under SQS's limit (256 KiB on queues
    /// made before 2025, 1 MiB since), so the message and its attributes always fit, and so that
    /// batched sends keep several messages per call.
    /// </summary>
    [Range(1024, 192 * 1024)]
    public int ClaimCheckBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// The largest input (as the queue's JSON, UTF-8 bytes) a job may have; more is 413. The default
    /// takes any body under the default 1 MiB request limit, even one of characters outside the Basic
    /// Multilingual Plane (4 bytes in the request, a 12-byte escape on the queue).
    /// </summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxInputBytes { get; init; } = 4 * 1024 * 1024;
}
