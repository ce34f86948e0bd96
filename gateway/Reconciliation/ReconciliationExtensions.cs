namespace InferenceGateway.Gateway.Reconciliation;

public static class ReconciliationExtensions
{
    /// <summary>Registers the reconciler's options and meter and, unless <c>Jobs:Reconciler:Enabled</c> is false, the reconciler itself.</summary>
    public static WebApplicationBuilder AddJobReconciler(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ReconcilerOptions>()
            .BindConfiguration(ReconcilerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<ReconcilerMetrics>();
        if (builder.Configuration.GetValue($"{ReconcilerOptions.Section}:{nameof(ReconcilerOptions.Enabled)}", true))
        {
            builder.Services.AddSingleton<JobReconciler>();
            builder.Services.AddHostedService(services => services.GetRequiredService<JobReconciler>());
        }

        return builder;
    }
}
