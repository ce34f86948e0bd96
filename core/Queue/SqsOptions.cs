using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Core.Queue;

/// <summary>How to reach the jobs queue. Section <c>Sqs</c>.</summary>
public sealed record SqsOptions
{
    public const string Section = "Sqs";

    /// <summary>Endpoint of an SQS-compatible service (the local emulator); empty for AWS itself.</summary>
    public string? ServiceUrl { get; init; }

    [Required]
    public string Region { get; init; } = "us-east-1";

    /// <summary>Static credentials (the emulator accepts any); empty uses the AWS default chain.</summary>
    public string? AccessKey { get; init; }

    public string? SecretKey { get; init; }

    /// <summary>The jobs queue's URL; when empty it is looked up (or created) by <see cref="QueueName"/>.</summary>
    public string? QueueUrl { get; init; }

    [Required]
    [RegularExpression("^[A-Za-z0-9_-]{1,80}$")]
    public string QueueName { get; init; } = "jobs";

    [Required]
    [RegularExpression("^[A-Za-z0-9_-]{1,80}$")]
    public string DeadLetterQueueName { get; init; } = "jobs-dlq";

    /// <summary>The dead-letter queue's URL; when empty it is looked up by <see cref="DeadLetterQueueName"/>.</summary>
    public string? DeadLetterQueueUrl { get; init; }

    /// <summary>Create the queue and its dead-letter queue when missing (local stacks; off in production).</summary>
    public bool CreateQueues { get; init; }

    /// <summary>Receives before a message moves to the dead-letter queue (redrive policy).</summary>
    [Range(1, 1000)]
    public int MaxReceiveCount { get; init; } = 5;

    /// <summary>Visibility timeout given to the queue when it is created, in seconds.</summary>
    [Range(1, 43200)]
    public int VisibilityTimeoutSeconds { get; init; } = 60;

    /// <summary>
    /// Per-request timeout for SQS calls. A worker raises it above its long-poll wait, since a
    /// receive cut off by the client leaves the server-side poll to swallow the next message.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
