using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Jobs;

namespace InferenceGateway.Gateway.Chat;

/// <summary>
/// Checks a chat-completions request and turns it into a generation job's input. Also checks the
/// generation input of a <c>POST /v1/jobs</c> job for a text-generation model, so both ways in
/// accept the same jobs.
/// </summary>
public static class ChatRequests
{
    private static readonly HashSet<string> Roles = new(StringComparer.Ordinal) { "system", "developer", "user", "assistant" };

    /// <summary>The job input for <paramref name="request"/>, or the problems, keyed by OpenAI's field names.</summary>
    public static (JobInput? Input, Dictionary<string, string[]> Errors) ToJobInput(
        ChatCompletionRequest request, IReadOnlyDictionary<string, CatalogModel> served, ChatOptions options)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var model = CheckModel(request.Model, served, errors, "model");
        if (request.N is { } n && n != 1)
        {
            errors["n"] = ["Only n = 1 is supported: one choice per request."];
        }

        if (request.Tools.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null) || request.Functions.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            errors["tools"] = ["Tool and function calling are not supported."];
        }

        if (request.Logprobs == true)
        {
            errors["logprobs"] = ["logprobs are not supported."];
        }

        if (request.ResponseFormat.ValueKind == JsonValueKind.Object
            && !(request.ResponseFormat.TryGetProperty("type", out var format) && format.ValueKind == JsonValueKind.String && format.GetString() == "text"))
        {
            errors["response_format"] = ["Only response_format {\"type\": \"text\"} is supported."];
        }

        if (request.MaxTokens is not null && request.MaxCompletionTokens is not null && request.MaxTokens != request.MaxCompletionTokens)
        {
            errors["max_tokens"] = ["Give max_tokens or max_completion_tokens, not two different values."];
        }

        var messages = ReadMessages(request.Messages, options, errors);
        var stop = ReadStop(request.Stop, options, errors);
        var input = new JobInput
        {
            Messages = messages,
            MaxTokens = request.MaxCompletionTokens ?? request.MaxTokens,
            Temperature = request.Temperature,
            TopP = request.TopP,
            TopK = request.TopK,
            Seed = request.Seed,
            Stop = stop,
        };
        CheckSampling(input, model, options, errors, maxTokensKey: request.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens", prefix: string.Empty, snake: true);
        CheckPromptLength(messages?.Sum(m => (long)m.Content.Length) ?? 0, model, errors, "messages");
        return errors.Count > 0 ? (null, errors) : (input, errors);
    }

    /// <summary>
    /// The problems of a generation job's input as <c>POST /v1/jobs</c> takes it (camelCase, under
    /// <paramref name="inputPath"/>): a <c>prompt</c> or <c>messages</c>, and the sampling settings.
    /// </summary>
    public static void ValidateJobInput(JobInput? input, CatalogModel model, ChatOptions options, Dictionary<string, string[]> errors, string inputPath)
    {
        var prefix = inputPath.Length == 0 ? string.Empty : inputPath + ".";
        if (input is null)
        {
            errors[prefix.TrimEnd('.') is { Length: > 0 } path ? path : "input"] = ["A text-generation job needs a 'prompt' or 'messages'."];
            return;
        }

        if (input.Texts is not null)
        {
            errors[prefix + "texts"] = [$"'{model.Id}' generates text: give a 'prompt' or 'messages', not 'texts'."];
        }

        if ((input.Prompt is null) == (input.Messages is null))
        {
            errors[prefix + "prompt"] = ["Give exactly one of 'prompt' (used as is) or 'messages' (rendered with the model's chat template)."];
        }
        else if (input.Prompt is { } prompt)
        {
            if (prompt.Length == 0)
            {
                errors[prefix + "prompt"] = ["'prompt' is empty."];
            }
            else if (prompt.Contains('\0', StringComparison.Ordinal))
            {
                errors[prefix + "prompt"] = ["'prompt' contains a NUL character."];
            }

            CheckPromptLength(prompt.Length, model, errors, prefix + "prompt");
        }
        else if (input.Messages is { } messages)
        {
            var problems = new List<string>();
            if (messages.Count == 0)
            {
                problems.Add("'messages' is empty.");
            }
            else if (messages.Count > options.MaxMessages)
            {
                problems.Add($"At most {options.MaxMessages} messages; got {messages.Count}.");
            }

            for (var i = 0; i < messages.Count && problems.Count < 5; i++)
            {
                CheckMessage(i, messages[i]?.Role, messages[i]?.Content, problems);
            }

            if (problems.Count > 0)
            {
                errors[prefix + "messages"] = [.. problems];
            }

            CheckPromptLength(messages.Sum(m => (long)(m?.Content?.Length ?? 0)), model, errors, prefix + "messages");
        }

        if (input.Stop is { } stop)
        {
            var problems = StopProblems(stop, options);
            if (problems.Count > 0)
            {
                errors[prefix + "stop"] = [.. problems];
            }
        }

        CheckSampling(input, model, options, errors, prefix + "maxTokens", prefix, snake: false);
    }

    /// <summary>The model, when it is served and generates text; otherwise a problem under <paramref name="key"/>.</summary>
    public static CatalogModel? CheckModel(string? name, IReadOnlyDictionary<string, CatalogModel> served, Dictionary<string, string[]> errors, string key)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            errors[key] = ["'model' is required."];
            return null;
        }

        var generators = served.Values.Where(m => m.Kind == ModelKinds.TextGeneration).Select(m => m.Id).ToList();
        if (!served.TryGetValue(name, out var model))
        {
            errors[key] = [$"Unknown model '{JobsApi.Truncate(name)}'. Text-generation models served: {(generators.Count > 0 ? string.Join(", ", generators) : "none")}."];
            return null;
        }

        if (model.Kind != ModelKinds.TextGeneration)
        {
            errors[key] = [$"'{model.Id}' is a {model.Kind} model; chat completions need a text-generation model ({(generators.Count > 0 ? string.Join(", ", generators) : "none served")}). Embeddings: POST /v1/embeddings or /v1/jobs."];
            return null;
        }

        return model;
    }

    private static List<ChatMessage>? ReadMessages(JsonElement messages, ChatOptions options, Dictionary<string, string[]> errors)
    {
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            errors["messages"] = ["'messages' must be a non-empty array of {\"role\", \"content\"} objects."];
            return null;
        }

        if (messages.GetArrayLength() > options.MaxMessages)
        {
            errors["messages"] = [$"At most {options.MaxMessages} messages; got {messages.GetArrayLength()}."];
            return null;
        }

        var problems = new List<string>();
        var read = new List<ChatMessage>(messages.GetArrayLength());
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (problems.Count >= 5)
            {
                break;
            }

            var i = index++;
            if (message.ValueKind != JsonValueKind.Object)
            {
                problems.Add($"Message {i} must be an object.");
                continue;
            }

            var role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            string? content = null;
            if (message.TryGetProperty("content", out var c))
            {
                content = c.ValueKind switch
                {
                    JsonValueKind.String => c.GetString(),
                    JsonValueKind.Array => TextParts(c, i, problems),
                    _ => null,
                };
            }

            if (content is null)
            {
                if (c.ValueKind != JsonValueKind.Array)
                {
                    problems.Add($"Message {i} needs 'content': a string, or an array of {{\"type\": \"text\", \"text\"}} parts.");
                }

                continue;
            }

            var before = problems.Count;
            CheckMessage(i, role, content, problems);
            if (problems.Count == before)
            {
                read.Add(new ChatMessage(role == "developer" ? "system" : role!, content));
            }
        }

        if (problems.Count > 0)
        {
            errors["messages"] = [.. problems];
            return null;
        }

        return read;
    }

    private static string? TextParts(JsonElement parts, int message, List<string> problems)
    {
        var text = new StringBuilder();
        foreach (var part in parts.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object
                && part.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "text"
                && part.TryGetProperty("text", out var value) && value.ValueKind == JsonValueKind.String)
            {
                text.Append(value.GetString());
            }
            else
            {
                problems.Add($"Message {message}: only text parts ({{\"type\": \"text\", \"text\": \"...\"}}) are supported.");
                return null;
            }
        }

        return text.ToString();
    }

    private static void CheckMessage(int i, string? role, string? content, List<string> problems)
    {
        if (role is null || !Roles.Contains(role))
        {
            problems.Add($"Message {i}: 'role' must be one of system, developer, user, assistant{(role is null ? string.Empty : $"; got '{JobsApi.Truncate(role)}'")}.");
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

    private static List<string>? ReadStop(JsonElement stop, ChatOptions options, Dictionary<string, string[]> errors)
    {
        List<string>? read = stop.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null => null,
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array when stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String) => [.. stop.EnumerateArray().Select(s => s.GetString()!)],
            _ => [],
        };
        if (read is { Count: 0 } && stop.ValueKind != JsonValueKind.Array)
        {
            errors["stop"] = ["'stop' must be a string or an array of strings."];
            return null;
        }

        if (read is null)
        {
            return null;
        }

        var problems = stop.ValueKind == JsonValueKind.Array && read.Count != stop.GetArrayLength()
            ? ["'stop' must be a string or an array of strings."]
            : StopProblems(read, options);
        if (problems.Count > 0)
        {
            errors["stop"] = [.. problems];
            return null;
        }

        return read.Count == 0 ? null : read;
    }

    private static List<string> StopProblems(IReadOnlyList<string> stop, ChatOptions options)
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

    private static void CheckSampling(JobInput input, CatalogModel? model, ChatOptions options, Dictionary<string, string[]> errors, string maxTokensKey, string prefix, bool snake)
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

    private static void CheckPromptLength(long characters, CatalogModel? model, Dictionary<string, string[]> errors, string key)
    {
        if (model is not null && characters > model.MaxTextLength && !errors.ContainsKey(key))
        {
            errors[key] = [$"The prompt has {characters} characters; '{model.Id}' takes at most {model.MaxTextLength}."];
        }
    }
}
