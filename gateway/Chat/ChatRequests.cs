using System.Text;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Problems;

namespace InferenceGateway.Gateway.Chat;

/// <summary>
/// Reads a chat-completions request (OpenAI's shapes: messages with text parts, <c>stop</c> as a
/// string or a list) and turns it into a generation job's input; the rules it shares with a
/// <c>POST /v1/jobs</c> generation job are in <see cref="GenerationChecks"/>.
/// </summary>
public static class ChatRequests
{
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
        GenerationChecks.CheckSampling(input, model, options, errors, maxTokensKey: request.MaxCompletionTokens is not null ? "max_completion_tokens" : "max_tokens", prefix: string.Empty, snake: true);
        GenerationChecks.CheckPromptLength(messages?.Sum(m => (long)m.Content.Length) ?? 0, model, errors, "messages");
        return errors.Count > 0 ? (null, errors) : (input, errors);
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
            errors[key] = [$"Unknown model '{Problem.Truncate(name)}'. Text-generation models served: {(generators.Count > 0 ? string.Join(", ", generators) : "none")}."];
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
            GenerationChecks.CheckMessage(i, role, content, problems);
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
            : GenerationChecks.StopProblems(read, options);
        if (problems.Count > 0)
        {
            errors["stop"] = [.. problems];
            return null;
        }

        return read.Count == 0 ? null : read;
    }
}
