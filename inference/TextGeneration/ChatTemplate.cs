using System.Text.Json;
using System.Text.Json.Serialization;
using InferenceGateway.Contracts;

namespace InferenceGateway.Inference.TextGeneration;

/// <summary>
/// How a conversation becomes a prompt, without running the model's Jinja template: one pattern
/// per role in which <c>{content}</c> stands for the message's text, a <see cref="Prefix"/> (a BOS
/// text such as <c>&lt;|begin_of_text|&gt;</c>), and the <see cref="GenerationPrompt"/> that opens
/// the assistant's turn. The file form is <c>chat_template.json</c> in the model folder:
/// <code>
/// {"prefix": "", "system": "&lt;|im_start|&gt;system\n{content}&lt;|im_end|&gt;\n",
///  "user": "&lt;|im_start|&gt;user\n{content}&lt;|im_end|&gt;\n",
///  "assistant": "&lt;|im_start|&gt;assistant\n{content}&lt;|im_end|&gt;\n",
///  "generationPrompt": "&lt;|im_start|&gt;assistant\n", "defaultSystem": null}
/// </code>
/// <see cref="DefaultSystem"/>, when set, is the system message of a conversation that has none.
/// </summary>
public sealed record ChatTemplate
{
    public const string ChatMlPreset = "chatml";
    public const string Llama3Preset = "llama3";
    public const string FileName = "chat_template.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    [JsonPropertyName("prefix")]
    public string Prefix { get; init; } = string.Empty;

    [JsonPropertyName("system")]
    public required string System { get; init; }

    [JsonPropertyName("user")]
    public required string User { get; init; }

    [JsonPropertyName("assistant")]
    public required string Assistant { get; init; }

    [JsonPropertyName("generationPrompt")]
    public required string GenerationPrompt { get; init; }

    [JsonPropertyName("defaultSystem")]
    public string? DefaultSystem { get; init; }

    /// <summary>ChatML (SmolLM2, Qwen2.5): <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c>.</summary>
    public static ChatTemplate ChatMl { get; } = new()
    {
        System = "<|im_start|>system\n{content}<|im_end|>\n",
        User = "<|im_start|>user\n{content}<|im_end|>\n",
        Assistant = "<|im_start|>assistant\n{content}<|im_end|>\n",
        GenerationPrompt = "<|im_start|>assistant\n",
    };

    /// <summary>Llama 3 (3.1, 3.2) instruct models' headers and <c>&lt;|eot_id|&gt;</c>.</summary>
    public static ChatTemplate Llama3 { get; } = new()
    {
        Prefix = "<|begin_of_text|>",
        System = "<|start_header_id|>system<|end_header_id|>\n\n{content}<|eot_id|>",
        User = "<|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>",
        Assistant = "<|start_header_id|>assistant<|end_header_id|>\n\n{content}<|eot_id|>",
        GenerationPrompt = "<|start_header_id|>assistant<|end_header_id|>\n\n",
    };

    /// <summary>
    /// The template a model uses: <paramref name="setting"/> is a preset name (<c>chatml</c>,
    /// <c>llama3</c>) or a path to a template file; when empty, the folder's
    /// <c>chat_template.json</c> if there is one, else ChatML.
    /// </summary>
    public static ChatTemplate Resolve(string? setting, string modelDirectory)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            var file = Path.Combine(modelDirectory, FileName);
            return File.Exists(file) ? Load(file) : ChatMl;
        }

        return setting.Trim().ToLowerInvariant() switch
        {
            ChatMlPreset => ChatMl,
            Llama3Preset => Llama3,
            _ => Load(Path.IsPathRooted(setting) ? setting : Path.Combine(modelDirectory, setting)),
        };
    }

    public static ChatTemplate Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ChatTemplate>(File.ReadAllText(path), Json)
                ?? throw new InvalidOperationException($"Chat template {path} is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"Chat template {path} is not valid: {ex.Message}", ex);
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The prompt for <paramref name="messages"/>, ending with the assistant's open turn.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages) => string.Concat(Parts(messages).Select(p => p.Text));

    /// <summary>
    /// The prompt for <paramref name="messages"/> in order as the template's own text
    /// (<c>Content</c> false: its special tokens are tokens) and the messages' contents (true: plain
    /// text, so a message that contains <c>&lt;|im_end|&gt;</c> cannot close its turn and forge another).
    /// A <c>developer</c> message (OpenAI's newer name for system) renders as a system message.
    /// </summary>
    public IEnumerable<(string Text, bool Content)> Parts(IReadOnlyList<ChatMessage> messages)
    {
        if (Prefix.Length > 0)
        {
            yield return (Prefix, false);
        }

        if (DefaultSystem is { } system && !messages.Any(m => m.Role is ChatRoles.System or ChatRoles.Developer))
        {
            foreach (var part in Fill(System, system))
            {
                yield return part;
            }
        }

        foreach (var message in messages)
        {
            var pattern = message.Role switch
            {
                ChatRoles.System or ChatRoles.Developer => System,
                ChatRoles.User => User,
                ChatRoles.Assistant => Assistant,
                _ => throw new ArgumentException($"Unknown role '{message.Role}'.", nameof(messages)),
            };
            foreach (var part in Fill(pattern, message.Content))
            {
                yield return part;
            }
        }

        yield return (GenerationPrompt, false);
    }

    private static IEnumerable<(string Text, bool Content)> Fill(string pattern, string content)
    {
        const string Placeholder = "{content}";
        var start = 0;
        for (var at = pattern.IndexOf(Placeholder, StringComparison.Ordinal); at >= 0; at = pattern.IndexOf(Placeholder, start, StringComparison.Ordinal))
        {
            if (at > start)
            {
                yield return (pattern[start..at], false);
            }

            if (content.Length > 0)
            {
                yield return (content, true);
            }

            start = at + Placeholder.Length;
        }

        if (start < pattern.Length)
        {
            yield return (pattern[start..], false);
        }
    }
}

public static class ChatRoles
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";

    /// <summary>OpenAI's newer name for the system role; rendered as <see cref="System"/>.</summary>
    public const string Developer = "developer";
}
