using InferenceGateway.Gateway.Jobs;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Webhooks;

public static class WebhooksExtensions
{
    /// <summary>Registers webhook options and policy, secrets, the delivery log, the HTTP client and the dispatcher.</summary>
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebhookOptions>()
            .BindConfiguration(WebhookOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        builder.Services.AddSingleton<WebhookTargetPolicy>();
        builder.Services.AddSingleton<IWebhookRequestValidator, WebhookRequestValidator>();
        builder.Services.AddSingleton<WebhookSecrets>();
        builder.Services.AddSingleton<WebhookDeliveryLog>();
        builder.Services.AddSingleton<WebhookMetrics>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddHttpClient(WebhookSender.ClientName, client =>
            {
                client.Timeout = Timeout.InfiniteTimeSpan; // each attempt has its own (Webhooks:AttemptTimeout)
                client.DefaultRequestHeaders.UserAgent.ParseAdd("InferenceGateway-Webhooks/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(services =>
            {
                var policy = services.GetRequiredService<WebhookTargetPolicy>();
                return new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    UseProxy = false, // a proxy would be connected to instead of the vetted address
                    UseCookies = false,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(1),
                    ConnectCallback = (context, token) => WebhookSender.ConnectAsync(policy, context, token),
                };
            });
        if (builder.Configuration.GetValue($"{WebhookOptions.Section}:{nameof(WebhookOptions.DispatcherEnabled)}", true))
        {
            builder.Services.AddHostedService<WebhookDispatcher>();
        }

        return builder;
    }
}
