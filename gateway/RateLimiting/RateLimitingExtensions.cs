namespace InferenceGateway.Gateway.RateLimiting;

public static class RateLimitingExtensions
{
    public static WebApplicationBuilder AddTenantRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>()
            .BindConfiguration(RateLimitOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.Plans.ContainsKey(o.DefaultPlan), "RateLimits:DefaultPlan must name one of RateLimits:Plans.")
            .Validate(o => o.Plans.Values.All(p => p.RequestsPerSecond > 0 && p.Burst > 0 && p.HubConnectsPerSecond > 0 && p.HubConnectBurst > 0 && p.MaxActiveJobs >= 0 && p.TokensPerMinute >= 0), "Every plan needs positive rates and bursts.")
            .ValidateOnStart();
        builder.Services.AddSingleton<RedisRateLimiter>();
        builder.Services.AddSingleton<LocalRateLimiter>();
        builder.Services.AddSingleton<TenantRateLimiter>();
        builder.Services.AddSingleton<TokenRateLimiter>();
        builder.Services.AddSingleton<TenantAdmission>();
        builder.Services.AddSingleton<HubRateLimitFilter>();
        return builder;
    }
}
