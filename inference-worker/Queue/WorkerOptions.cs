using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Worker.Queue;

/// <summary>
/// The event source and the function around the model: how the worker pulls jobs, how long one may
/// run and how it gives messages back. Section <c>Worker</c>. The visibility timeout itself is
/// <c>Sqs:VisibilityTimeoutSeconds</c>, shared with the queue's creation.
/// </summary>
public sealed record WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>How much longer than the long-poll wait an SQS request may take before the client gives up.</summary>
    public static readonly TimeSpan LongPollMargin = TimeSpan.FromSeconds(10);

    /// <summary>Messages asked for per receive (SQS allows at most 10).</summary>
    [Range(1, 10)]
    public int MaxMessages { get; init; } = 10;

    /// <summary>Long-poll wait per receive, in seconds (SQS allows at most 20).</summary>
    [Range(0, 20)]
    public int WaitTimeSeconds { get; init; } = 20;

    /// <summary>
    /// After a receive that returned messages but left slots free, keep gathering for up to this
    /// many milliseconds before dispatching (Lambda's batching window); 0 dispatches at once.
    /// </summary>
    [Range(0, 10_000)]
    public int BatchWindowMs { get; init; }

    /// <summary>
    /// Jobs held at once by this worker (Lambda's MaximumConcurrency). Model calls are merged by the
    /// dynamic batcher, so this bounds messages in hand, not ONNX Runtime calls. To keep the model
    /// fed it should be at least (model runs at once + 2) × <c>Batching:MaxBatchTexts</c>: a batch
    /// running, the next one gathering, and the jobs of the last one recording their ends and being
    /// acknowledged meanwhile. The default, 128, is four batches of 32; with 32 (one batch) the model
    /// waited on every batch's Redis and SQS work and the next receive.
    /// </summary>
    [Range(1, 1024)]
    public int MaxConcurrency { get; init; } = 128;

    /// <summary>
    /// A finished job's message delete waits up to this many milliseconds for the deletes of other
    /// jobs to share one <c>DeleteMessageBatch</c> call (ten make a full call, which goes at once);
    /// 0 sends each at once. The job's end is recorded before its delete, so nobody waits on it.
    /// </summary>
    [Range(0, 1000)]
    public int DeleteWindowMs { get; init; } = 5;

    /// <summary>Extend a running job's visibility each time this fraction of the visibility timeout passes.</summary>
    [Range(0.1, 0.9)]
    public double HeartbeatFraction { get; init; } = 0.33;

    /// <summary>
    /// A run's lease on its job, in seconds: taken by its <c>started</c>, renewed every
    /// <see cref="HeartbeatFraction"/> of it while the run lasts. A delivery that finds another run's
    /// live lease is released, not run; once a stalled run's lease lapses, a redelivery takes the job
    /// over and the stalled run's appends are refused. 0 (the default): derived from the visibility
    /// timeout, <see cref="RunLease"/>.
    /// </summary>
    [Range(0, 43_200)]
    public int RunLeaseSeconds { get; init; }

    /// <summary>
    /// The run lease: <see cref="RunLeaseSeconds"/>, or by default the visibility timeout less one
    /// heartbeat period and a second (at least 1 s), so that a message that comes back after its
    /// worker died or stalled (one visibility timeout after its last extension, which came at most a
    /// heartbeat period before the lease's last renewal) finds the lease lapsed and runs at once.
    /// </summary>
    public TimeSpan RunLease(int visibilityTimeoutSeconds) =>
        RunLeaseSeconds > 0
            ? TimeSpan.FromSeconds(RunLeaseSeconds)
            : TimeSpan.FromSeconds(Math.Max(1, ((1 - HeartbeatFraction) * visibilityTimeoutSeconds) - 1));

    /// <summary>The longest one invocation may run the model (MassTransit's timeout filter); a job may ask for less.</summary>
    [Range(1, 43_200)]
    public int InvocationTimeoutSeconds { get; init; } = 300;

    /// <summary>Immediate retries, inside one delivery, of an invocation that hit a transient Redis error.</summary>
    [Range(0, 10)]
    public int TransientRetries { get; init; } = 3;

    /// <summary>Visibility given back to a failed delivery: this many seconds doubled per earlier receive, plus jitter.</summary>
    [Range(0, 3600)]
    public int ReleaseBackoffSeconds { get; init; } = 2;

    /// <summary>Cap on the release backoff.</summary>
    [Range(0, 43_200)]
    public int ReleaseBackoffMaxSeconds { get; init; } = 120;

    /// <summary>On shutdown, how long running jobs may take to finish before they are stopped and their messages released.</summary>
    [Range(0, 3600)]
    public int ShutdownGraceSeconds { get; init; } = 25;

    /// <summary>A job with more texts than this records a <c>progress</c> event after each such slice.</summary>
    [Range(1, 100_000)]
    public int ProgressEveryTexts { get; init; } = 64;

    /// <summary>
    /// Every this many seconds, one Information line counting the jobs that ended, by outcome (each
    /// completed job's own line is Debug); 0 turns it off.
    /// </summary>
    [Range(0, 86_400)]
    public int SummaryIntervalSeconds { get; init; } = 60;

    /// <summary>Watch the dead-letter queue and mark jobs whose messages the redrive policy moved there as failed.</summary>
    public bool MonitorDeadLetterQueue { get; init; } = true;
}
