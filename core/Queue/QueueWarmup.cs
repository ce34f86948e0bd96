using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace InferenceGateway.Core.Queue;

/// <summary>
/// Resolves (and, when configured, creates) the queues as the process starts, so the first
/// request does not pay for it and a local stack has its queues before anyone submits. A queue
/// service that is down does not stop the start: resolution is retried on first use.
/// </summary>
public sealed partial class QueueWarmup(JobQueue queue, ILogger<QueueWarmup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var urls = await queue.GetUrlsAsync(cancellationToken);
            LogResolved(logger, urls.Jobs, urls.DeadLetter ?? "(none)");
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogUnavailable(logger, ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventIds.QueueResolved, LogLevel.Information, "Jobs queue {JobsUrl}, dead-letter queue {DeadLetterUrl}")]
    private static partial void LogResolved(ILogger logger, string jobsUrl, string deadLetterUrl);

    [LoggerMessage(EventIds.QueueUnresolved, LogLevel.Warning, "The jobs queue could not be resolved at start; will retry on first use")]
    private static partial void LogUnavailable(ILogger logger, Exception exception);
}
