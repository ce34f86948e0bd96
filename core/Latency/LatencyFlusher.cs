using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Core.Latency;

/// <summary>
/// Flushes the <see cref="LatencyRecorder"/> every <see cref="LatencyOptions.FlushInterval"/>, and
/// once more when the host has stopped (after the web server drained its last requests and the
/// worker its last jobs, whatever order the hosted services stop in).
/// </summary>
public sealed class LatencyFlusher(LatencyRecorder recorder, IOptions<LatencyOptions> options, TimeProvider time, ILogger<LatencyFlusher> logger) : BackgroundService, IHostedLifecycleService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await recorder.FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StoppedAsync flushes what is left.
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await recorder.FlushAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            LatencyLog.FinalFlushFailed(logger, ex);
        }
    }
}
