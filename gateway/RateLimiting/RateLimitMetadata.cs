namespace InferenceGateway.Gateway.RateLimiting;

/// <summary>Marks an endpoint as limited per tenant, drawing from the named bucket.</summary>
public sealed class RateLimitMetadata(string bucket)
{
    /// <summary>Requests: the plan's <see cref="PlanLimits.RequestsPerSecond"/> and burst.</summary>
    public const string Requests = "requests";

    /// <summary>SignalR negotiate/connect handshakes: the plan's hub limits.</summary>
    public const string HubConnects = "hub";

    /// <summary>A proxied route's <c>RateLimit</c> value that turns its limit off.</summary>
    public const string None = "none";

    /// <summary>The YARP route metadata key that names a proxied route's bucket (default: <see cref="Requests"/>).</summary>
    public const string RouteMetadataKey = "RateLimit";

    public string Bucket { get; } = bucket;
}

public static class RateLimitEndpointExtensions
{
    /// <summary>Limits the endpoints per tenant, by plan, across all gateway instances.</summary>
    public static TBuilder RequireTenantRateLimit<TBuilder>(this TBuilder builder, string bucket = RateLimitMetadata.Requests)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RateLimitMetadata(bucket));

    /// <summary>
    /// Limits the endpoint per tenant like <see cref="RequireTenantRateLimit"/>, but lets the endpoint
    /// take the request with its other checks in one Redis round trip (<see cref="DeferredRequestLimit"/>,
    /// <see cref="TenantAdmission"/>); a filter takes it alone on any answer that did not.
    /// </summary>
    public static RouteHandlerBuilder RequireTenantRateLimitTakenByEndpoint(this RouteHandlerBuilder builder, string bucket = RateLimitMetadata.Requests) =>
        builder
            .WithMetadata(new RateLimitMetadata(bucket), new RequestLimitTakenByEndpoint())
            .AddEndpointFilter(new DeferredRequestLimitFilter(bucket));
}
