using System.Collections.Concurrent;
using InferenceGateway.Core.Jobs;
using StackExchange.Redis;

namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// Hears <c>DELETE /v1/jobs/{id}</c> for running jobs: one subscription per worker to
/// <see cref="JobKeys.CancelChannel"/>, and a token per run this worker holds. A job registers
/// before it checks the record's <c>cancelRequested</c> flag, so a cancel is either heard or read
/// (also while the subscription is not up yet: it is retried in the background, so a worker starts
/// while Redis is down; and a run's lease heartbeat reads the flag again, <see cref="RunLease"/>).
/// A worker may hold two runs of one job (a redelivery while the first run was stalled): a cancel
/// reaches both, and only the one that holds the job's lease can record the end (the other's
/// appends are fenced).
/// </summary>
public sealed class JobCancellations(IConnectionMultiplexer redis, TimeProvider time, ILogger<JobCancellations> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource[]> _running = new(StringComparer.Ordinal);
    private ChannelMessageQueue? _subscription;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (_subscription is null)
        {
            try
            {
                _subscription = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(JobKeys.CancelChannel));
            }
            catch (RedisException ex)
            {
                Log.CancelSubscribeFailed(logger, ex);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
        }

        _subscription.OnMessage(message =>
        {
            var jobId = message.Message.ToString();
            if (_running.TryGetValue(jobId, out var runs))
            {
                Log.CancelHeard(logger, jobId);
                foreach (var cts in runs)
                {
                    Cancel(cts);
                }
            }
        });
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_subscription is not null)
        {
            await _subscription.UnsubscribeAsync();
        }
    }

    /// <summary>A token cancelled when the client cancels <paramref name="jobId"/>; dispose when the job ends.</summary>
    public Registration Register(string jobId)
    {
        var cts = new CancellationTokenSource();
        _running.AddOrUpdate(jobId, static (_, cts) => [cts], static (_, runs, cts) => [.. runs, cts], cts);
        return new Registration(this, jobId, cts);
    }

    private static void Cancel(CancellationTokenSource cts)
    {
        try
        {
            cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The job ended between lookup and cancel.
        }
    }

    /// <summary>One running job's cancellation.</summary>
    public sealed class Registration(JobCancellations owner, string jobId, CancellationTokenSource cts) : IDisposable
    {
        public CancellationToken Token => cts.Token;

        public bool IsCancellationRequested => cts.IsCancellationRequested;

        /// <summary>Cancels from this side (the record already said so).</summary>
        public void Cancel() => JobCancellations.Cancel(cts);

        public void Dispose()
        {
            // Copy-on-write arrays: the last run of the job removes its entry, another leaves the rest.
            while (owner._running.TryGetValue(jobId, out var runs) && runs.Contains(cts))
            {
                var removed = runs.Length == 1
                    ? ((ICollection<KeyValuePair<string, CancellationTokenSource[]>>)owner._running).Remove(new(jobId, runs))
                    : owner._running.TryUpdate(jobId, [.. runs.Where(r => r != cts)], runs);
                if (removed)
                {
                    break;
                }
            }

            cts.Dispose();
        }
    }
}
