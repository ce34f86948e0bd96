using System.Text.Json;
using InferenceGateway.Core.Models;
using InferenceGateway.Inference.Hosting;

namespace InferenceGateway.Worker.Queue;

/// <summary>
/// Publishes what this worker serves to the model registry in Redis, so the gateway's
/// <c>GET /v1/models</c> reflects it: each model's spec, and a heartbeat every
/// <see cref="RegistryHeartbeat.Interval"/> saying whether this worker holds it loaded (warm). Leaves the registry
/// on stop; a worker that dies drops out after <see cref="ModelRegistry.LiveWindow"/>.
/// </summary>
public sealed class WorkerRegistration(ModelRegistry registry, ModelHost models, TimeProvider time, ILogger<WorkerRegistration> logger) : BackgroundService
{
    /// <summary>This process's id in the registry.</summary>
    public string WorkerId { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..Math.Min(Environment.MachineName.Length + 20, 100)];

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => RegistryHeartbeat.RunAsync(PublishAsync, time, stoppingToken);

    /// <summary>One heartbeat for every served model (also called when a model's state changes).</summary>
    public Task PublishAsync() => RegistryHeartbeat.TryAsync(
        async () =>
        {
            foreach (var spec in models.Models)
            {
                var warm = models.GetState(spec.Name).Status == ModelStatus.Warm;
                await registry.HeartbeatAsync(WorkerId, spec.Name, JsonSerializer.Serialize(spec), warm);
            }
        },
        ex => Log.RegistrationFailed(logger, ex));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await RegistryHeartbeat.TryAsync(() => registry.LeaveAsync(WorkerId, models.Models.Select(m => m.Name)), ex => Log.RegistrationFailed(logger, ex));
    }
}
