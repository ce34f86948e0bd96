using InferenceGateway.Core.Jobs;
using StackExchange.Redis;

namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// A run's hold on its job, from the moment its start took the lease
/// (<see cref="RedisJobStore.StartRunAsync"/>): its token, which fences every append the run makes,
/// and a heartbeat that renews the lease every <c>Worker:HeartbeatFraction</c> of its length (on
/// Redis' clock, only while the token still holds it). The heartbeat also reads the record's
/// cancel flag, so a cancel whose notification this worker missed (a Redis restart drops pub/sub)
/// still stops the run. When another run took the lease over, the run is fenced:
/// <see cref="Fenced"/> is cancelled, and the run stops and records nothing more. A failed renewal
/// is logged and tried again at the next beat: the lease then lapses only if Redis stays
/// unreachable for its whole length.
/// </summary>
public sealed class RunLease : IDisposable
{
    private readonly RedisJobStore _store;
    private readonly string _jobId;
    private readonly TimeSpan _length;
    private readonly JobCancellations.Registration _cancellation;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _fenced = new();
    private readonly ITimer _timer;
    private int _renewing;
    private int _disposed;

    /// <summary>Starts renewing the lease that <paramref name="token"/> took on <paramref name="jobId"/>.</summary>
    public RunLease(RedisJobStore store, string jobId, string token, TimeSpan length, double fraction, JobCancellations.Registration cancellation, TimeProvider time, ILogger logger)
    {
        _store = store;
        _jobId = jobId;
        Token = token;
        _length = length;
        _cancellation = cancellation;
        _logger = logger;
        var period = length * fraction;
        _timer = time.CreateTimer(_ => _ = RenewAsync(), null, period, period);
    }

    /// <summary>The run's token: passed with every append the run makes.</summary>
    public string Token { get; }

    /// <summary>Cancelled when another run took the job over.</summary>
    public CancellationToken Fenced => _fenced.Token;

    /// <summary>Whether another run took the job over.</summary>
    public bool IsFenced => _fenced.IsCancellationRequested;

    /// <summary>Another run holds the lease (an append was refused, or the heartbeat found out): stop the run.</summary>
    public void Fence()
    {
        if (Volatile.Read(ref _disposed) == 1 || _fenced.IsCancellationRequested)
        {
            return;
        }

        Log.RunFenced(_logger, _jobId);
        try
        {
            _fenced.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run ended meanwhile.
        }
    }

    /// <summary>One beat (the timer's; also for tests).</summary>
    internal async Task RenewAsync()
    {
        if (Interlocked.Exchange(ref _renewing, 1) == 1)
        {
            return; // The previous beat is still waiting for Redis.
        }

        try
        {
            switch (await _store.RenewLeaseAsync(_jobId, Token, _length))
            {
                case LeaseRenewal.CancelRequested:
                    if (!_cancellation.IsCancellationRequested)
                    {
                        Log.CancelRead(_logger, _jobId);
                        _cancellation.Cancel();
                    }

                    break;
                case LeaseRenewal.Fenced:
                    Fence();
                    break;
            }
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException or ObjectDisposedException)
        {
            Log.LeaseRenewFailed(_logger, ex, _jobId);
        }
        finally
        {
            Volatile.Write(ref _renewing, 0);
        }
    }

    /// <summary>
    /// Lets the lease lapse now (if this run still holds it), best effort: the run ends without
    /// recording the end, and the next delivery should not wait for the lease to run out.
    /// </summary>
    public async Task GiveUpAsync()
    {
        try
        {
            await _store.RenewLeaseAsync(_jobId, Token, TimeSpan.Zero);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            Log.LeaseRenewFailed(_logger, ex, _jobId);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _timer.Dispose();
        _fenced.Dispose();
    }
}
