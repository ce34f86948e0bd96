using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Gateway.Hubs;

/// <summary>How the relay from a job's event log to its subscribers behaves (section <c>Delivery</c>).</summary>
public sealed class DeliveryOptions
{
    public const string Section = "Delivery";

    /// <summary>How long a subscriber waits for a wake-up before it reads the log anyway (a wake-up may be lost).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a subscriber keeps retrying while Redis is unreachable (a restart, a failover) before
    /// its stream ends with an error; it resumes with <c>afterSeq</c> / <c>Last-Event-ID</c> then.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan RedisOutageTolerance { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An SSE comment is sent after this long without an event, so proxies keep the stream open and a gone client is noticed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan SseKeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// An SSE client that takes no bytes for this long while a write waits is disconnected; it
    /// resumes with <c>Last-Event-ID</c>. Until then it holds only its own buffers and one page.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan SseWriteTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
