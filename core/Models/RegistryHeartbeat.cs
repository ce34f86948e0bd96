namespace InferenceGateway.Core.Models;

/// <summary>
/// The heartbeat of a member of the <see cref="ModelRegistry"/> (a worker and the models it serves,
/// a gateway and its edge models): one heartbeat at once, then one every <see cref="Interval"/>
/// until the host stops; leaving is the member's own call, as it stops. A failed call is reported,
/// never thrown: the next heartbeat tries again, and a member that stays silent drops out after
/// <see cref="ModelRegistry.LiveWindow"/>.
/// </summary>
public static class RegistryHeartbeat
{
    /// <summary>Time between two heartbeats (a third of <see cref="ModelRegistry.LiveWindow"/>).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>Calls <paramref name="publish"/> now and every <see cref="Interval"/> of <paramref name="time"/> until <paramref name="stoppingToken"/> is cancelled.</summary>
    public static async Task RunAsync(Func<Task> publish, TimeProvider time, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                await publish();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the member leaves the registry in its StopAsync.
        }
    }

    /// <summary>Runs one registry call (a heartbeat, or leaving); a failure goes to <paramref name="failed"/> (its log line) instead of the caller.</summary>
    public static async Task TryAsync(Func<Task> call, Action<Exception> failed)
    {
        try
        {
            await call();
        }
        catch (Exception ex)
        {
            failed(ex);
        }
    }
}
