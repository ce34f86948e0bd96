namespace InferenceGateway.Contracts;

/// <summary>
/// A job's webhook as its message carries it, so a worker that finds the job's record missing can
/// rebuild it as the gateway wrote it: the target, the event filter as the record stores it
/// (<c>*</c>, or the types between commas: <c>,completed,failed,</c>) and the outbox stream the
/// append scripts write to.
/// </summary>
public sealed record JobMessageWebhook
{
    public required string Url { get; init; }

    public required string Events { get; init; }

    public required string Outbox { get; init; }
}
