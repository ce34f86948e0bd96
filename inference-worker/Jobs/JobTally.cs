using InferenceGateway.Contracts;
using InferenceGateway.Worker.Queue;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// Counts the jobs this worker ended, by outcome, and every <see cref="WorkerOptions.SummaryIntervalSeconds"/>
/// writes one Information line with the counts (none when nothing ended), so an operator reading
/// the log at Information sees the worker working while each completed job's own line is Debug.
/// Counting is an interlocked increment; the line is written once per interval and on stop.
/// </summary>
public sealed class JobTally(IOptions<WorkerOptions> options, TimeProvider time, ILogger<JobTally> logger) : BackgroundService
{
    private long _completed;
    private long _failed;
    private long _cancelled;
    private long _timedOut;
    private long _expired;
    private long _settled;
    private long _receives;
    private long _received;
    private long _since = time.GetTimestamp();

    /// <summary>A job ended with the terminal event <paramref name="type"/>.</summary>
    public void Ended(string type)
    {
        switch (type)
        {
            case JobEventTypes.Completed: Interlocked.Increment(ref _completed); break;
            case JobEventTypes.Failed: Interlocked.Increment(ref _failed); break;
            case JobEventTypes.Cancelled: Interlocked.Increment(ref _cancelled); break;
            case JobEventTypes.TimedOut: Interlocked.Increment(ref _timedOut); break;
            case JobEventTypes.Expired: Interlocked.Increment(ref _expired); break;
            default: break;
        }
    }

    /// <summary>A delivery of a job that had already ended was acknowledged without running.</summary>
    public void Settled() => Interlocked.Increment(ref _settled);

    /// <summary>A receive from the jobs queue returned <paramref name="messages"/> messages (0: an empty poll).</summary>
    public void Received(int messages)
    {
        Interlocked.Increment(ref _receives);
        Interlocked.Add(ref _received, messages);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Flush();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seconds = options.Value.SummaryIntervalSeconds;
        if (seconds == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(seconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Flush();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync writes what is left.
        }
    }

    private void Flush()
    {
        if (options.Value.SummaryIntervalSeconds == 0)
        {
            return;
        }

        var now = time.GetTimestamp();
        var seconds = time.GetElapsedTime(Interlocked.Exchange(ref _since, now), now).TotalSeconds;
        var completed = Interlocked.Exchange(ref _completed, 0);
        var failed = Interlocked.Exchange(ref _failed, 0);
        var cancelled = Interlocked.Exchange(ref _cancelled, 0);
        var timedOut = Interlocked.Exchange(ref _timedOut, 0);
        var expired = Interlocked.Exchange(ref _expired, 0);
        var settled = Interlocked.Exchange(ref _settled, 0);
        var receives = Interlocked.Exchange(ref _receives, 0);
        var received = Interlocked.Exchange(ref _received, 0);
        if (completed + failed + cancelled + timedOut + expired + settled > 0)
        {
            Log.JobSummary(logger, seconds, completed, failed, cancelled, timedOut, expired, settled, received, receives);
        }
    }
}
