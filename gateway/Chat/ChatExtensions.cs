using InferenceGateway.Gateway.Jobs;

namespace InferenceGateway.Gateway.Chat;

public static class ChatExtensions
{
    /// <summary>Chat completions' options (section <c>Chat</c>) and the text-generation input rules every job submission applies.</summary>
    public static WebApplicationBuilder AddChatCompletions(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatOptions>()
            .BindConfiguration(ChatOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IJobInputValidator, TextGenerationInputValidator>();
        return builder;
    }
}
