using System.Diagnostics.Metrics;

namespace InferenceGateway.Worker.Jobs;

/// <summary>
/// Meter <c>InferenceGateway.Worker</c>: <c>worker.jobs.rebuilt</c>, the jobs whose record Redis
/// had lost and that a worker rebuilt from their message (<see cref="InferenceConsumer"/>).
/// </summary>
public sealed class WorkerMetrics
{
    public const string MeterName = "InferenceGateway.Worker";

    public const string RebuiltName = "worker.jobs.rebuilt";

    private readonly Counter<long> _rebuilt;

    public WorkerMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        _rebuilt = Meter.CreateCounter<long>(RebuiltName, unit: "{job}", description: "Jobs whose lost record was rebuilt from their message.");
    }

    /// <summary>This worker's meter (one per host: tests tell two workers in one process apart by it).</summary>
    public Meter Meter { get; }

    /// <summary>A job's record was rebuilt from its message.</summary>
    public void Rebuilt() => _rebuilt.Add(1);
}
