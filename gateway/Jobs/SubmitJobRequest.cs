using InferenceGateway.Contracts;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>The body of <c>POST /v1/jobs</c>.</summary>
public sealed record SubmitJobRequest
{
    public string? Model { get; init; }

    public JobInput? Input { get; init; }

    /// <summary>Optional execution policy; absent means the gateway's defaults.</summary>
    public JobPolicy? Policy { get; init; }

    /// <summary>Optional webhook: where to POST the job's events, and which.</summary>
    public WebhookRequest? Webhook { get; init; }
}
