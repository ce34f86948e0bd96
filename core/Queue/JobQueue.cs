using System.Globalization;
using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Core.Queue;

/// <summary>
/// The jobs queue and its dead-letter queue: resolves their URLs once (creating both, with the
/// redrive policy, when <see cref="SqsOptions.CreateQueues"/> is set) and caches them.
/// </summary>
public sealed class JobQueue(IAmazonSQS sqs, IOptions<SqsOptions> options) : IDisposable
{
    private readonly SqsOptions _options = options.Value;
    private readonly SemaphoreSlim _resolveLock = new(1, 1);
    private QueueUrls? _urls;

    public IAmazonSQS Client => sqs;

    /// <summary>The URLs of the jobs queue and its dead-letter queue.</summary>
    public async ValueTask<QueueUrls> GetUrlsAsync(CancellationToken cancellationToken = default)
    {
        if (_urls is { } cached)
        {
            return cached;
        }

        await _resolveLock.WaitAsync(cancellationToken);
        try
        {
            return _urls ??= await ResolveAsync(cancellationToken);
        }
        finally
        {
            _resolveLock.Release();
        }
    }

    public void Dispose() => _resolveLock.Dispose();

    private async Task<QueueUrls> ResolveAsync(CancellationToken cancellationToken)
    {
        if (!_options.CreateQueues)
        {
            var jobs = _options.QueueUrl
                ?? (await sqs.GetQueueUrlAsync(_options.QueueName, cancellationToken)).QueueUrl;
            var dlq = _options.DeadLetterQueueUrl;
            try
            {
                dlq ??= (await sqs.GetQueueUrlAsync(_options.DeadLetterQueueName, cancellationToken)).QueueUrl;
            }
            catch (QueueDoesNotExistException)
            {
                // A dead-letter queue is optional for readers; the redrive policy lives on the queue.
            }

            return new QueueUrls(jobs, dlq);
        }

        var dlqUrl = (await sqs.CreateQueueAsync(new CreateQueueRequest { QueueName = _options.DeadLetterQueueName }, cancellationToken)).QueueUrl;
        var dlqArn = (await sqs.GetQueueAttributesAsync(dlqUrl, ["QueueArn"], cancellationToken)).QueueARN;
        var redrive = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["deadLetterTargetArn"] = dlqArn,
            ["maxReceiveCount"] = _options.MaxReceiveCount.ToString(CultureInfo.InvariantCulture),
        });
        var jobsUrl = (await sqs.CreateQueueAsync(
            new CreateQueueRequest
            {
                QueueName = _options.QueueName,
                Attributes = new Dictionary<string, string>
                {
                    ["RedrivePolicy"] = redrive,
                    ["VisibilityTimeout"] = _options.VisibilityTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
                },
            },
            cancellationToken)).QueueUrl;
        return new QueueUrls(jobsUrl, dlqUrl);
    }
}

/// <summary>The resolved queue URLs.</summary>
public sealed record QueueUrls(string Jobs, string? DeadLetter);
