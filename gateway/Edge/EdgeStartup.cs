using System.Text.Json;
using InferenceGateway.Core.Models;

namespace InferenceGateway.Gateway.Edge;

/// <summary>
/// Loads the edge models in the background as the gateway starts (it listens at once; <c>/readyz</c>
/// answers 503 with <c>edge: loading</c> until they are in memory), then publishes them to the
/// <see cref="ModelRegistry"/> with <c>"placement": "edge"</c> and a heartbeat every
/// <see cref="RegistryHeartbeat.Interval"/>, so <c>GET /v1/models</c> on any gateway shows where each model runs.
/// Leaves the registry on stop.
/// </summary>
public sealed class EdgeStartup(EdgeModels models, ModelRegistry registry, TimeProvider time, ILogger<EdgeStartup> logger) : BackgroundService
{
    /// <summary>This gateway's id in the registry.</summary>
    public string InstanceId { get; } = $"gw-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..Math.Min(Environment.MachineName.Length + 24, 100)];

    /// <summary>Null while loading or once loaded; the reason when a model could not be loaded.</summary>
    public string? LoadFailure { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!models.Any)
        {
            return;
        }

        try
        {
            await Task.Yield();
            await models.LoadAsync(stoppingToken);
            EdgeLog.Loaded(logger, string.Join(", ", models.States.Select(s => $"{s.Name} ({s.LastInitMs:F0} ms)")));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            LoadFailure = ex.Message;
            EdgeLog.LoadFailed(logger, ex);
            return;
        }

        await RegistryHeartbeat.RunAsync(PublishAsync, time, stoppingToken);
    }

    /// <summary>One heartbeat for every edge model.</summary>
    public Task PublishAsync() => RegistryHeartbeat.TryAsync(
        async () =>
        {
            foreach (var spec in models.Specs)
            {
                var json = JsonSerializer.SerializeToNode(spec)!.AsObject();
                json["kind"] = "embedding";
                json["placement"] = "edge";
                if (models.TryGet(spec.Name, out var model))
                {
                    json["latencyBudgetMs"] = model.Edge.LatencyBudgetMs;
                }

                await registry.HeartbeatEdgeAsync(InstanceId, spec.Name, json.ToJsonString());
            }
        },
        ex => EdgeLog.RegistrationFailed(logger, ex));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (models.Any)
        {
            await RegistryHeartbeat.TryAsync(() => registry.LeaveEdgeAsync(InstanceId, models.Specs.Select(s => s.Name)), ex => EdgeLog.RegistrationFailed(logger, ex));
        }
    }
}

internal static partial class EdgeLog
{
    [LoggerMessage(EventIds.EdgeLoaded, LogLevel.Information, "Edge models loaded: {Models}")]
    public static partial void Loaded(ILogger logger, string models);

    [LoggerMessage(EventIds.EdgeLoadFailed, LogLevel.Error, "An edge model could not be loaded; /readyz stays unavailable and /v1/embeddings answers 503")]
    public static partial void LoadFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventIds.EdgeRegistrationFailed, LogLevel.Warning, "The edge models could not be published to the model registry")]
    public static partial void RegistrationFailed(ILogger logger, Exception exception);
}
