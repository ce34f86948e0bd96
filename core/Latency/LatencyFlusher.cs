using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Core.Latency;

/// <summary>Flushes the <see cref="LatencyRecorder"/> every <see cref="LatencyOptions.FlushInterval"/>, and once more on stop.</summary>
public sealed class LatencyFlusher(LatencyRecorder recorder, IOptions<LatencyOptions> options, TimeProvider time, ILogger<LatencyFlusher> logger) : BackgroundService
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
            // Stopping: StopAsync flushes what is left.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
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
