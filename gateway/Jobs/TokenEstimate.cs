using InferenceGateway.Contracts;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// The tokens a queued job is charged against its tenant's tokens per minute before it runs, when
/// the gateway cannot count them with the model's tokenizer: about one token per four characters of
/// input (OpenAI's rule of thumb, which its own rate limiter uses), plus, for generation, every token
/// the job may generate (<c>maxTokens</c>, else the model's <c>maxNewTokens</c>, else
/// <see cref="DefaultNewTokens"/>), as OpenAI charges <c>max_tokens</c> up front.
/// </summary>
public static class TokenEstimate
{
    /// <summary>The worker's default for a generation job that gives no <c>maxTokens</c>.</summary>
    public const int DefaultNewTokens = 256;

    public static long For(JobInput input, CatalogModel? model)
    {
        long characters = 0;
        foreach (var text in input.Texts ?? [])
        {
            characters += text.Length;
        }

        characters += input.Prompt?.Length ?? 0;
        foreach (var message in input.Messages ?? [])
        {
            characters += message.Content.Length;
        }

        var tokens = (characters + 3) / 4;
        if (model?.Kind == ModelKinds.TextGeneration)
        {
            tokens += input.MaxTokens ?? model.MaxNewTokens ?? DefaultNewTokens;
        }

        return Math.Max(tokens, 1);
    }
}
