using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Jobs;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Chat;

/// <summary>
/// The problems of a generation job's input as <c>POST /v1/jobs</c> and <c>async</c> proxy routes
/// take it (camelCase, under the input's path): a <c>prompt</c> or <c>messages</c>, and the sampling
/// settings; the same rules as a chat-completions request (<see cref="GenerationChecks"/>), so both
/// ways in accept the same jobs. Registered by <see cref="ChatExtensions.AddChatCompletions"/>.
/// </summary>
public sealed class TextGenerationInputValidator(IOptions<ChatOptions> chatOptions) : IJobInputValidator
{
    public string Kind => ModelKinds.TextGeneration;

    public void Validate(JobInput? input, CatalogModel model, Dictionary<string, string[]> errors, string inputPath)
    {
        var options = chatOptions.Value;
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

            GenerationChecks.CheckPromptLength(prompt.Length, model, errors, prefix + "prompt");
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
                GenerationChecks.CheckMessage(i, messages[i]?.Role, messages[i]?.Content, problems);
            }

            if (problems.Count > 0)
            {
                errors[prefix + "messages"] = [.. problems];
            }

            GenerationChecks.CheckPromptLength(messages.Sum(m => (long)(m?.Content?.Length ?? 0)), model, errors, prefix + "messages");
        }

        if (input.Stop is { } stop)
        {
            var problems = GenerationChecks.StopProblems(stop, options);
            if (problems.Count > 0)
            {
                errors[prefix + "stop"] = [.. problems];
            }
        }

        GenerationChecks.CheckSampling(input, model, options, errors, prefix + "maxTokens", prefix, snake: false);
    }
}
