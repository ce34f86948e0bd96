namespace InferenceGateway.Contracts;

/// <summary>Why a job did not complete.</summary>
/// <param name="Code">A stable, machine-readable reason such as <c>inference_error</c>.</param>
/// <param name="Message">A human-readable explanation.</param>
public sealed record JobError(string Code, string Message);
