using Amazon.SQS.Model;
using InferenceGateway.Core.Queue;
using InferenceGateway.Worker.Jobs;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Worker.Queue;

/// <summary>
/// The event source: long-polls the jobs queue and hands each message to the
/// <see cref="JobProcessor"/>, never holding more than <see cref="WorkerOptions.MaxConcurrency"/>
/// messages at once and never receiving while saturated.
/// </summary>
public sealed class SqsJobPoller(
    JobQueue queue,
    JobProcessor processor,
    IOptions<WorkerOptions> options,
    TimeProvider time,
    ILogger<SqsJobPoller> logger) : BackgroundService
{
    private readonly WorkerOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(_options.MaxConcurrency, _options.MaxConcurrency);
        var inFlight = new HashSet<Task>();
        var backoff = TimeSpan.Zero;
        QueueUrls? urls = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken);
                var free = 1;
                while (free < _options.MaxMessages && slots.Wait(0, CancellationToken.None))
                {
                    free++;
                }

                List<Message> messages;
                try
                {
                    if (urls is null)
                    {
                        urls = await queue.GetUrlsAsync(stoppingToken);
                        Log.Polling(logger, urls.Jobs, _options.MaxMessages, _options.MaxConcurrency);
                    }

                    var response = await queue.Client.ReceiveMessageAsync(
                        new ReceiveMessageRequest
                        {
                            QueueUrl = urls.Jobs,
                            MaxNumberOfMessages = free,
                            WaitTimeSeconds = _options.WaitTimeSeconds,
                            MessageSystemAttributeNames = ["ApproximateReceiveCount", "SentTimestamp"],
                            MessageAttributeNames = ["All"],
                        },
                        stoppingToken);
                    messages = response.Messages ?? [];
                    backoff = TimeSpan.Zero;
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    slots.Release(free);
                    backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
                    Log.ReceiveFailed(logger, ex, backoff.TotalMilliseconds);
                    await Task.Delay(backoff, time, stoppingToken);
                    continue;
                }

                if (free > messages.Count)
                {
                    slots.Release(free - messages.Count);
                }

                foreach (var message in messages)
                {
                    var task = RunAsync(message, urls, slots, stoppingToken);
                    lock (inFlight)
                    {
                        inFlight.Add(task);
                    }

                    _ = task.ContinueWith(
                        t =>
                        {
                            lock (inFlight)
                            {
                                inFlight.Remove(t);
                            }
                        },
                        CancellationToken.None,
                        TaskContinuationOptions.ExecuteSynchronously,
                        TaskScheduler.Default);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: in-flight messages not finished return to the queue after their visibility timeout.
        }

        Task[] remaining;
        lock (inFlight)
        {
            remaining = [.. inFlight];
        }

        await Task.WhenAll(remaining);
    }

    private async Task RunAsync(Message message, QueueUrls urls, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Yield();
            await processor.ProcessAsync(message, urls, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Left on the queue; it becomes visible again after its timeout.
        }
        catch (Exception ex)
        {
            // Whatever went wrong, the message was not deleted: it returns after its visibility timeout.
            Log.ProcessingFailed(logger, ex, message.MessageId);
        }
        finally
        {
            slots.Release();
        }
    }
}
