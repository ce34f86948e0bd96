using System.IO.Hashing;
using System.Text;
using InferenceGateway.Contracts;
using InferenceGateway.Inference.Hosting;

namespace InferenceGateway.Inference.TextGeneration;

/// <summary>Checks a text-generation job's input and turns it into <see cref="GenerationSettings"/>.</summary>
public static class GenerationRequest
{
    /// <summary>Most stop sequences a job may give (as OpenAI allows).</summary>
    public const int MaxStops = 4;

    public const int MaxStopLength = 64;

    /// <summary>The error code of input a generation model cannot take.</summary>
    public const string InvalidInput = "invalid_input";

    /// <summary>Null when <paramref name="input"/> is a valid generation input for <paramref name="model"/>, else why not.</summary>
    public static JobError? Validate(JobInput input, ModelOptions model)
    {
        var problems = new List<string>();
        if (input.Texts is not null)
        {
            problems.Add("'texts' is for embedding models; a text-generation model takes 'prompt' or 'messages'.");
        }

        if ((input.Prompt is null) == (input.Messages is null))
        {
            problems.Add("Give exactly one of 'prompt' (raw text) and 'messages' (a chat).");
        }

        if (input.Prompt is { } prompt)
        {
            if (prompt.Length == 0)
            {
                problems.Add("'prompt' is empty.");
            }
            else if (prompt.Length > model.MaxTextLength)
            {
                problems.Add($"'prompt' has {prompt.Length} characters; the limit is {model.MaxTextLength}.");
            }
        }

        if (input.Messages is { } messages)
        {
            if (messages.Count == 0 || messages.Count > model.MaxTexts)
            {
                problems.Add($"'messages' must hold 1 to {model.MaxTexts} messages; got {messages.Count}.");
            }

            for (var i = 0; i < messages.Count && problems.Count < 5; i++)
            {
                var message = messages[i];
                if (message is null || message.Role is not (ChatRoles.System or ChatRoles.Developer or ChatRoles.User or ChatRoles.Assistant))
                {
                    problems.Add($"Message {i}: 'role' must be system, developer, user or assistant; got '{message?.Role}'.");
                }
                else if (message.Content is null)
                {
                    problems.Add($"Message {i}: 'content' is missing.");
                }
            }

            var characters = messages.Sum(m => (long)(m?.Content?.Length ?? 0));
            if (characters > model.MaxTextLength)
            {
                problems.Add($"The messages have {characters} characters; the limit is {model.MaxTextLength}.");
            }
        }

        if (input.MaxTokens is < 1)
        {
            problems.Add($"'maxTokens' must be at least 1; got {input.MaxTokens}.");
        }
        else if (input.MaxTokens is { } maxTokens && ModelSpec.MaxCompletionTokensOf(model) is var limit && maxTokens > limit)
        {
            // MaxCompletionTokens is the limit (never above the context); MaxNewTokens is only the default.
            problems.Add($"'maxTokens' is {maxTokens}; this model generates at most {limit} tokens per job.");
        }

        if (input.Temperature is { } temperature && (float.IsNaN(temperature) || temperature < 0 || temperature > 2))
        {
            problems.Add($"'temperature' must be between 0 and 2; got {temperature}.");
        }

        if (input.TopP is { } topP && (float.IsNaN(topP) || topP <= 0 || topP > 1))
        {
            problems.Add($"'topP' must be in (0, 1]; got {topP}.");
        }

        if (input.TopK is < 0)
        {
            problems.Add($"'topK' must be 0 (no limit) or more; got {input.TopK}.");
        }

        if (input.Stop is { } stops && (stops.Count > MaxStops || stops.Any(s => string.IsNullOrEmpty(s) || s.Length > MaxStopLength)))
        {
            problems.Add($"'stop' takes at most {MaxStops} non-empty strings of at most {MaxStopLength} characters.");
        }

        return problems.Count == 0 ? null : new JobError(InvalidInput, string.Join(' ', problems));
    }

    /// <summary>
    /// The settings of a valid <paramref name="input"/>. With no seed, the seed is derived from
    /// <paramref name="jobId"/> (<see cref="DefaultSeed"/>), so a redelivered job (a worker restart,
    /// a visibility timeout) generates the same text again and a client already streaming it is not
    /// handed a different continuation.
    /// </summary>
    public static GenerationSettings Settings(JobInput input, ModelOptions model, string jobId) => new()
    {
        MaxNewTokens = input.MaxTokens ?? model.NewTokens,
        Temperature = input.Temperature ?? 0,
        TopP = input.TopP ?? 1,
        TopK = input.TopK ?? 0,
        Seed = input.Seed ?? DefaultSeed(jobId),
        Stop = input.Stop ?? [],
        MaxPromptTokens = model.MaxPromptTokens,
        PrefillChunkTokens = model.PrefillChunkTokens,
    };

    /// <summary>A stable seed for a job that gave none: XxHash64 of its id's UTF-8 bytes (the same on every machine and run).</summary>
    public static long DefaultSeed(string jobId) =>
        unchecked((long)XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(jobId)));
}
