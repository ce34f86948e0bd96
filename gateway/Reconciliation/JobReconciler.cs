using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Gateway.Jobs;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace InferenceGateway.Gateway.Reconciliation;

/// <summary>
/// Makes acceptance recoverable: sends again the job messages that were never confirmed sent and
/// those that nobody started, so that no accepted job stays <c>queued</c> forever. Every gateway runs
/// one; only the holder of the queue's lease (<see cref="ReconcilerLease"/>, <see cref="JobKeys.ReconcilerLease"/>)
/// acts, and it stops at once when a renewal fails. Each tick (<see cref="ReconcilerOptions.Interval"/>):
/// <list type="number">
/// <item><b>Outbox.</b> The record of an accepted job keeps its message, and the job sits in the
/// queue's outbox (<see cref="JobKeys.Unsent"/>) from the script that creates the record until the
/// send succeeded. A job still there after <see cref="ReconcilerOptions.UnsentGrace"/> (its gateway
/// died between the record and the send, or lost the confirmation) is sent again from the stored
/// body, with the same attributes, if its record is still <c>queued</c>.</item>
/// <item><b>Unstarted.</b> A sent job waits in the queued index (<see cref="JobKeys.Queued"/>) until
/// it starts or ends. One still there after <see cref="ReconcilerOptions.QueuedGrace"/> is sent again
/// when workers have already started a job accepted more than that grace after it (the queue's
/// started watermark, <see cref="JobKeys.StartedWatermark"/>), or the queue holds no message at
/// all, visible, in flight or delayed: either way its message is not ahead of the workers anywhere,
/// so it was lost. A deep backlog with no worker trips neither (no start moves the watermark, the
/// queue is not empty). Its score then becomes the time of the re-send, so it is sent again at most
/// once per grace.</item>
/// </list>
/// Members whose record is gone, or that are no longer <c>queued</c>, just leave both sets. Each
/// re-send is logged and counted (<see cref="ReconcilerMetrics"/>). Redis or SQS unavailable: the
/// tick is logged and the next one tries again; nothing stops the host.
/// <para>A duplicate message is harmless: a second delivery of a job that is running or ended does
/// not run it twice. The start transition refuses an ended job (the log closes at its first terminal
/// event); a delivery that finds another run's live lease is released with backoff, not run; and the
/// idempotent start and terminal-once scripts bill and end a job once, so the worst case is a wasted
/// receive.</para>
/// </summary>
public sealed class JobReconciler : BackgroundService
{
    public const string UnsentReason = "unsent";

    public const string UnstartedReason = "unstarted";

    private static readonly RedisValue[] RecordFields = [JobFields.Status, JobFields.Tenant, JobFields.Message, JobFields.TraceParent];

    private readonly IConnectionMultiplexer _redis;
    private readonly JobQueue _queue;
    private readonly SqsSendCoalescer _sender;
    private readonly ReconcilerOptions _options;
    private readonly TimeProvider _time;
    private readonly ReconcilerMetrics _metrics;
    private readonly ILogger<JobReconciler> _logger;
    private readonly string _queueName;
    private readonly RedisKey _unsent;
    private readonly RedisKey _queued;
    private readonly RedisKey _watermark;
    private bool _wasHolding;

    public JobReconciler(
        IConnectionMultiplexer redis,
        JobQueue queue,
        SqsSendCoalescer sender,
        IOptions<ReconcilerOptions> options,
        IOptions<SqsOptions> sqsOptions,
        TimeProvider time,
        ReconcilerMetrics metrics,
        ILogger<JobReconciler> logger)
    {
        _redis = redis;
        _queue = queue;
        _sender = sender;
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _queueName = sqsOptions.Value.QueueName;
        _unsent = JobKeys.Unsent(_queueName);
        _queued = JobKeys.Queued(_queueName);
        _watermark = JobKeys.StartedWatermark(_queueName);
        Lease = new ReconcilerLease(redis, JobKeys.ReconcilerLease(_queueName), _options.LeaseDuration, time);
    }

    /// <summary>This gateway's lease on the queue: it acts only while <see cref="ReconcilerLease.IsHeld"/>.</summary>
    public ReconcilerLease Lease { get; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(_options.Interval, _time);
        var failing = false;
        try
        {
            do
            {
                try
                {
                    await TickAsync(stoppingToken);
                    if (failing)
                    {
                        failing = false;
                        ReconcilerLog.Recovered(_logger, _queueName);
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    if (!failing)
                    {
                        failing = true;
                        ReconcilerLog.TickFailed(_logger, ex, _queueName, _options.Interval);
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: a tick cut short is harmless, the next holder repeats it.
        }
        finally
        {
            await GiveUpLeaseAsync();
        }
    }

    /// <summary>One pass: renew or take the lease, then, while it holds, the outbox and the unstarted jobs.</summary>
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var holding = await Lease.RenewOrTakeAsync();
        if (holding != _wasHolding)
        {
            _wasHolding = holding;
            if (holding)
            {
                ReconcilerLog.LeaseTaken(_logger, _queueName, Lease.Token);
            }
            else
            {
                ReconcilerLog.LeaseLost(_logger, _queueName, Lease.Token);
            }
        }

        if (!holding)
        {
            return;
        }

        var db = _redis.GetDatabase();
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var unsent = await db.SortedSetRangeByScoreAsync(_unsent, stop: now - _options.UnsentGrace.TotalMilliseconds, take: _options.BatchSize);
        if (unsent.Length > 0)
        {
            await ResendAsync(db, unsent, UnsentReason, cancellationToken);
        }

        var graceMs = (long)_options.QueuedGrace.TotalMilliseconds;
        var waiting = await db.SortedSetRangeByScoreWithScoresAsync(_queued, stop: now - graceMs, take: _options.BatchSize);
        if (waiting.Length == 0 || !Lease.IsHeld)
        {
            return;
        }

        // Started jobs accepted more than a grace after this one: its message is not ahead of the workers.
        var watermark = (long?)await db.StringGetAsync(_watermark) ?? 0;
        var passed = waiting.Where(e => e.Score + graceMs < watermark).Select(e => e.Element).ToArray();
        if (passed.Length < waiting.Length && await QueueIsEmptyAsync(cancellationToken))
        {
            // Nothing anywhere in the queue: no message of these jobs is either.
            passed = [.. waiting.Select(e => e.Element)];
        }

        if (passed.Length > 0)
        {
            await ResendAsync(db, passed, UnstartedReason, cancellationToken);
        }
    }

    private async Task<bool> QueueIsEmptyAsync(CancellationToken cancellationToken)
    {
        var urls = await _queue.GetUrlsAsync(cancellationToken);
        var attributes = await _queue.Client.GetQueueAttributesAsync(
            new GetQueueAttributesRequest
            {
                QueueUrl = urls.Jobs,
                AttributeNames = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
            },
            cancellationToken);
        return attributes.ApproximateNumberOfMessages == 0
            && attributes.ApproximateNumberOfMessagesNotVisible == 0
            && attributes.ApproximateNumberOfMessagesDelayed == 0;
    }

    /// <summary>Sends the stored message of each of <paramref name="jobIds"/> still <c>queued</c> again; the others leave both sets.</summary>
    private async Task ResendAsync(IDatabase db, RedisValue[] jobIds, string reason, CancellationToken cancellationToken)
    {
        var batch = db.CreateBatch();
        var reads = new Task<RedisValue[]>[jobIds.Length];
        for (var i = 0; i < jobIds.Length; i++)
        {
            reads[i] = batch.HashGetAsync(JobKeys.Record(jobIds[i].ToString()), RecordFields);
        }

        batch.Execute();
        var urls = await _queue.GetUrlsAsync(cancellationToken);
        var sends = new List<Task>(jobIds.Length);
        for (var i = 0; i < jobIds.Length; i++)
        {
            var jobId = jobIds[i].ToString();
            var record = await reads[i];
            if (record[0] != JobStatuses.Queued || record[2].IsNullOrEmpty)
            {
                // Gone (expired), started, ended, or never kept its message: nothing to send.
                ReconcilerLog.Forgot(_logger, jobId, _queueName, record[0].IsNull ? "gone" : record[0].ToString());
                sends.Add(ForgetAsync(db, jobId));
                continue;
            }

            if (!Lease.IsHeld)
            {
                break;
            }

            sends.Add(SendAsync(db, urls.Jobs, jobId, record[1].ToString(), record[2].ToString(), record[3].ToString(), reason, cancellationToken));
        }

        await Task.WhenAll(sends);
    }

    private async Task SendAsync(IDatabase db, string queueUrl, string jobId, string tenant, string body, string traceParent, string reason, CancellationToken cancellationToken)
    {
        try
        {
            var schemaVersion = JobMessageJson.Deserialize(body)?.SchemaVersion ?? JobMessage.CurrentSchemaVersion;
            await _sender.SendAsync(queueUrl, body, JobSubmitter.MessageAttributes(jobId, tenant, traceParent, schemaVersion), cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            ReconcilerLog.ResendFailed(_logger, ex, jobId, _queueName, reason);
            return;
        }

        _metrics.Resent(reason);
        ReconcilerLog.Resent(_logger, jobId, _queueName, reason);

        // Sent: out of the outbox, and unstarted from now on (only if still there: it may have started already).
        await Task.WhenAll(
            db.SortedSetRemoveAsync(_unsent, jobId),
            db.SortedSetAddAsync(_queued, jobId, _time.GetUtcNow().ToUnixTimeMilliseconds(), SortedSetWhen.Exists));
    }

    private async Task ForgetAsync(IDatabase db, string jobId) =>
        await Task.WhenAll(db.SortedSetRemoveAsync(_unsent, jobId), db.SortedSetRemoveAsync(_queued, jobId));

    private async Task GiveUpLeaseAsync()
    {
        try
        {
            await Lease.ReleaseAsync().WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception)
        {
            // Best effort: the lease expires by itself.
        }
    }
}
