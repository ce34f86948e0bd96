using System.Diagnostics;
using InferenceGateway.Inference.Onnx;

namespace InferenceGateway.Inference.Hosting;

/// <summary>
/// Runs before the poller (registered first): decides the execution provider, so a worker told to
/// use CUDA without a usable GPU stops at start with the reason instead of failing its first job;
/// runs the models' init phase (<see cref="ModelHost.PrepareAsync"/>: the tokenizers), begun as the
/// host starts so it overlaps the rest of the start-up, and finished before the poller takes a job;
/// and with <see cref="InferenceOptions.Provisioned"/> loads every model before any job is received.
/// </summary>
public sealed class InferenceStartup(IServiceProvider services, ILogger<InferenceStartup> logger) : IHostedLifecycleService
{
    private Task<Prepared?>? _prepare;

    /// <summary>Begins the init phase on the pool while the host starts its other services (the queue, Redis).</summary>
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _prepare = Task.Run(async () =>
        {
            try
            {
                return await PrepareAsync(services.GetRequiredService<ModelHost>());
            }
            catch (Exception)
            {
                // The model host cannot be built (the provider probe failed): StartAsync reports why.
                return null;
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

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
        var waiting = Stopwatch.GetTimestamp();
        var prepared = (_prepare is null ? null : await _prepare.WaitAsync(cancellationToken)) ?? await PrepareAsync(host).WaitAsync(cancellationToken);
        foreach (var (model, error) in prepared.Failures)
        {
            InferenceLog.PrepareFailed(logger, model, error.Message);
        }

        InferenceLog.Prepared(logger, host.Models.Count, prepared.Milliseconds, Stopwatch.GetElapsedTime(waiting).TotalMilliseconds);
        await host.LoadProvisionedAsync(cancellationToken);
        if (host.States.All(s => s.Provisioned))
        {
            InferenceLog.Provisioned(logger, host.States.Count);
        }
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static async Task<Prepared> PrepareAsync(ModelHost host)
    {
        var started = Stopwatch.GetTimestamp();
        var failures = await host.PrepareAsync();
        return new Prepared(failures, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private sealed record Prepared(IReadOnlyList<(string Model, Exception Error)> Failures, double Milliseconds);
}
