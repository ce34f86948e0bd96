using System.Diagnostics.Metrics;

namespace InferenceGateway.Gateway.Reconciliation;

/// <summary>
/// Meter <c>InferenceGateway.Gateway</c>: <c>gateway.jobs.resent</c>, the job messages the reconciler
/// sent again, by <c>reason</c>: <c>unsent</c> (never confirmed sent) or <c>unstarted</c> (sent, but
/// nobody started the job; see <see cref="JobReconciler"/>).
/// </summary>
public sealed class ReconcilerMetrics
{
    public const string MeterName = "InferenceGateway.Gateway";

    public const string ResentName = "gateway.jobs.resent";

    private readonly Counter<long> _resent;

    public ReconcilerMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        _resent = Meter.CreateCounter<long>(ResentName, unit: "{job}", description: "Job messages the reconciler sent again, by reason.");
    }

    /// <summary>This gateway's meter (one per host: tests tell two gateways in one process apart by it).</summary>
    public Meter Meter { get; }

    public void Resent(string reason) => _resent.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
