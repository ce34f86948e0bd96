using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Problems;

namespace InferenceGateway.Gateway.Chat;

/// <summary>
/// The rules a generation input keeps whichever way it comes in (a chat-completions request, or a
/// <c>POST /v1/jobs</c> job for a text-generation model): roles and contents of messages, stop
/// sequences, sampling settings and the prompt's length against the model.
/// </summary>
internal static class GenerationChecks
{
    private static readonly HashSet<string> Roles = new(StringComparer.Ordinal) { "system", "developer", "user", "assistant" };

    public static void CheckMessage(int i, string? role, string? content, List<string> problems)
    {
        if (role is null || !Roles.Contains(role))
        {
            problems.Add($"Message {i}: 'role' must be one of system, developer, user, assistant{(role is null ? string.Empty : $"; got '{Problem.Truncate(role)}'")}.");
        }
        else if (content is null)
        {
            problems.Add($"Message {i} has no 'content'.");
        }
        else if (content.Contains('\0', StringComparison.Ordinal))
        {
            problems.Add($"Message {i} contains a NUL character.");
        }
    }

    public static List<string> StopProblems(IReadOnlyList<string> stop, ChatOptions options)
    {
        var problems = new List<string>();
        if (stop.Count > options.MaxStopSequences)
        {
            problems.Add($"At most {options.MaxStopSequences} stop sequences; got {stop.Count}.");
        }

        for (var i = 0; i < stop.Count && problems.Count < 5; i++)
        {
            if (string.IsNullOrEmpty(stop[i]))
            {
                problems.Add($"Stop sequence {i} is empty.");
            }
            else if (stop[i].Length > options.MaxStopLength)
            {
                problems.Add($"Stop sequence {i} has {stop[i].Length} characters; the limit is {options.MaxStopLength}.");
            }
        }

        return problems;
    }

    public static void CheckSampling(JobInput input, CatalogModel? model, ChatOptions options, Dictionary<string, string[]> errors, string maxTokensKey, string prefix, bool snake)
    {
        var limit = model?.MaxCompletionTokens ?? options.MaxTokensLimit;
        if (input.MaxTokens is { } maxTokens && (maxTokens < 1 || maxTokens > limit))
        {
            errors[maxTokensKey] = [$"Must be from 1 to {limit}{(model?.MaxCompletionTokens is null ? string.Empty : $", the most '{model.Id}' generates")}; got {maxTokens}."];
        }

        if (input.Temperature is { } temperature && (float.IsNaN(temperature) || temperature < 0 || temperature > 2))
        {
            errors[prefix + "temperature"] = ["Must be from 0 (greedy) to 2."];
        }

        if (input.TopP is { } topP && (float.IsNaN(topP) || topP <= 0 || topP > 1))
        {
            errors[prefix + (snake ? "top_p" : "topP")] = ["Must be above 0 and at most 1."];
        }

        if (input.TopK is { } topK && (topK < 0 || topK > 100_000))
        {
            errors[prefix + (snake ? "top_k" : "topK")] = ["Must be from 0 (no limit) to 100000."];
        }
    }

    public static void CheckPromptLength(long characters, CatalogModel? model, Dictionary<string, string[]> errors, string key)
    {
        if (model is not null && characters > model.MaxTextLength && !errors.ContainsKey(key))
        {
            errors[key] = [$"The prompt has {characters} characters; '{model.Id}' takes at most {model.MaxTextLength}."];
        }
    }
}
