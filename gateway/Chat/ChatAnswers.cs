using System.Text.Json;
using InferenceGateway.Contracts;

namespace InferenceGateway.Gateway.Chat;

/// <summary>A generation job's end in OpenAI's shapes: the <c>chat.completion</c>, or its failure as a problem.</summary>
internal static class ChatAnswers
{
    internal static string TerminalEventOf(string status) => status switch
    {
        JobStatuses.Failed => JobEventTypes.Failed,
        JobStatuses.Cancelled => JobEventTypes.Cancelled,
        JobStatuses.TimedOut => JobEventTypes.TimedOut,
        _ => JobEventTypes.Expired,
    };

    /// <summary>The answer to a job that ended: the completion, or its failure as a problem.</summary>
    internal static IResult Answer(string jobId, string model, DateTimeOffset createdAt, string type, JsonElement? data)
    {
        if (type == JobEventTypes.Completed && ReadResult(data) is { } result)
        {
            var completion = new ChatCompletion(
                ChatCompletionsApi.CompletionId(jobId),
                ChatCompletion.ObjectName,
                createdAt.ToUnixTimeSeconds(),
                result.Model,
                [new ChatChoice(0, new ChatChoiceMessage("assistant", result.Text, null), null, result.FinishReason)],
                ChatUsage.From(result.Usage),
                null);
            return TypedResults.Json(completion, ChatJsonContext.Default.ChatCompletion);
        }

        var (code, message) = ReadError(data);
        var (status, title) = (type, code) switch
        {
            (JobEventTypes.Completed, _) => (StatusCodes.Status502BadGateway, "Bad Gateway"),
            (_, "invalid_input") => (StatusCodes.Status400BadRequest, "Bad Request"),
            (JobEventTypes.TimedOut or JobEventTypes.Expired, _) or (_, "timed_out" or "expired") => (StatusCodes.Status504GatewayTimeout, "Gateway Timeout"),
            (JobEventTypes.Cancelled, _) or (_, "cancelled") => (StatusCodes.Status409Conflict, "Cancelled"),
            _ => (StatusCodes.Status502BadGateway, "Bad Gateway"),
        };
        return TypedResults.Problem(
            statusCode: status,
            title: title,
            detail: message ?? (type == JobEventTypes.Completed ? "The job completed without a generation result." : $"The job ended {type}."),
            extensions: new Dictionary<string, object?> { ["jobId"] = jobId, ["code"] = code ?? type, ["job"] = $"/v1/jobs/{jobId}" });
    }

    internal static GenerationResult? ReadResult(JsonElement? data)
    {
        if (data is not { ValueKind: JsonValueKind.Object } d || !d.TryGetProperty("result", out var result))
        {
            return null;
        }

        try
        {
            return result.Deserialize(ContractsJsonContext.Default.GenerationResult) is { Text: not null, FinishReason: not null, Usage: not null } read ? read : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static (string? Code, string? Message) ReadError(JsonElement? data)
    {
        if (data is { ValueKind: JsonValueKind.Object } d && d.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            return (
                error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String ? code.GetString() : null,
                error.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String ? message.GetString() : null);
        }

        return (null, null);
    }
}
