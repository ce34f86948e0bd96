namespace InferenceGateway.Inference;

/// <summary>
/// Runs before the poller (registered first): decides the execution provider, so a worker told to
/// use CUDA without a usable GPU stops at start with the reason instead of failing its first job,
/// and with <see cref="InferenceOptions.Provisioned"/> loads every model before any job is received.
/// </summary>
public sealed class InferenceStartup(IServiceProvider services, ILogger<InferenceStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ExecutionProviderSelection selection;
        try
        {
            selection = services.GetRequiredService<ExecutionProviderSelection>();
        }
        catch (InvalidOperationException ex)
        {
            InferenceLog.ExecutionProviderUnavailable(logger, ex.Message);
            throw;
        }

        if (selection.FallbackReason is { } reason)
        {
            InferenceLog.ExecutionProviderFallback(logger, reason);
        }

        InferenceLog.ExecutionProviderSelected(logger, selection.ActiveName);
        var host = services.GetRequiredService<ModelHost>();
        await host.LoadProvisionedAsync(cancellationToken);
        if (host.States.All(s => s.Provisioned))
        {
            InferenceLog.Provisioned(logger, host.States.Count);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
