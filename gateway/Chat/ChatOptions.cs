using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Gateway.Chat;

/// <summary>How <c>POST /v1/chat/completions</c> behaves (section <c>Chat</c>).</summary>
public sealed class ChatOptions
{
    public const string Section = "Chat";

    /// <summary>
    /// How long a <c>stream: false</c> request waits for its job without a <c>Prefer: wait=N</c>
    /// header before answering 202 with the job's links. OpenAI's clients send no such header, so
    /// the default lets a short generation answer in place.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan DefaultWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait a <c>Prefer: wait=N</c> header gets; larger values are cut to it.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Messages one request may carry.</summary>
    [Range(1, 10_000)]
    public int MaxMessages { get; set; } = 256;

    /// <summary>The largest <c>max_tokens</c> accepted when the model does not publish its own limit.</summary>
    [Range(1, 1_000_000)]
    public int MaxTokensLimit { get; set; } = 4096;

    /// <summary>Stop sequences one request may give (OpenAI allows 4), and the longest one, in characters.</summary>
    [Range(0, 64)]
    public int MaxStopSequences { get; set; } = 4;

    [Range(1, 1024)]
    public int MaxStopLength { get; set; } = 64;

    /// <summary>
    /// A <c>stream: true</c> client that goes away cancels its job (the GPU stops generating for no
    /// one), as OpenAI-compatible servers do. False leaves the job running; its result stays
    /// readable at <c>GET /v1/jobs/{id}</c>.
    /// </summary>
    public bool CancelOnDisconnect { get; set; } = true;
}
