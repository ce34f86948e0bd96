using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Gateway.Admin;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Chat;
using InferenceGateway.Gateway.Edge;
using InferenceGateway.Gateway.Health;
using InferenceGateway.Gateway.Hubs;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Latency;
using InferenceGateway.Gateway.Limits;
using InferenceGateway.Gateway.Problems;
using InferenceGateway.Gateway.Proxy;
using InferenceGateway.Gateway.RateLimiting;
using InferenceGateway.Gateway.Reconciliation;
using InferenceGateway.Gateway.Usage;
using InferenceGateway.Gateway.Webhooks;
using InferenceGateway.Inference.Hosting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway;

public static class GatewayExtensions
{
    /// <summary>Registers everything the edge runs.</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        builder.AddProblems();
        builder.AddRequestLimits();
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, GatewayJsonContext.Default);
            options.SerializerOptions.TypeInfoResolverChain.Insert(1, ContractsJsonContext.Default);
        });
        builder.Services.AddJobStore();
        builder.Services.AddJobQueue();
        builder.AddApiKeyAuth();
        builder.AddTenantRateLimits();
        builder.Services.AddModelCatalog(filesOn: null);
        builder.Services.AddOptions<JobPolicyOptions>()
            .BindConfiguration(JobPolicyOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<JobPolicyOptions>, JobPolicyOptionsValidator>();
        builder.Services.AddOptions<JobMessageOptions>()
            .BindConfiguration(JobMessageOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<ModelCatalog>();
        builder.AddChatCompletions();
        builder.Services.TryAddSingleton<SqsSendCoalescer>();
        builder.Services.AddSingleton<JobSubmitter>();
        builder.Services.AddSingleton<JobValidator>();
        builder.Services.AddSingleton<JobIntake>();
        builder.Services.AddOptions<DeliveryOptions>()
            .BindConfiguration(DeliveryOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<DeliveryStats>();
        builder.Services.AddSingleton<JobEventFeed>();

        // No Redis backplane: nothing sends through hub groups or IHubContext; every instance reads
        // the job event log itself, so a stream works on whichever instance holds the connection.
        builder.Services.AddSignalR(options => options.AddFilter<HubRateLimitFilter>());

        builder.AddWebhooks();
        builder.AddJobReconciler();
        builder.AddEdgeInference();
        builder.AddProxyRoutes();
        builder.AddLatencyAudit();
        return builder;
    }

    /// <summary>Maps the HTTP API, the hub, health endpoints and the proxied routes.</summary>
    public static WebApplication MapGateway(this WebApplication app)
    {
        app.UseRequestLatency();
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = ex => ProblemsExtensions.IsDependencyFailure(ex)
                ? StatusCodes.Status503ServiceUnavailable
                : ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.UseRequestLimits();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<TenantRateLimitMiddleware>();

        app.MapHealthApi();
        app.MapJobsApi();
        app.MapChatCompletionsApi();
        app.MapKeysAdminApi();
        app.MapUsageApi();
        app.MapDeliveryAdminApi();
        app.MapLatencyAuditApi();
        app.MapWebhooksApi();
        app.MapEdgeInference();
        app.MapJobEventStreams();
        app.MapProxyRoutes();
        return app;
    }
}
