using System.Collections.Concurrent;
using Amazon.SQS.Model;
using InferenceGateway.Core.Latency;
using InferenceGateway.Core.Queue;
using InferenceGateway.Gateway.Jobs;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Latency;

/// <summary>
/// What the 202 for a queued job says about the queue ahead of it: the jobs queue's depth (SQS
/// <c>ApproximateNumberOfMessages</c>, one read shared per <see cref="LatencyAuditOptions.QueueDepthCacheFor"/>),
/// the model's live and warm workers (the <see cref="ModelCatalog"/>'s cached registry read), and an
/// estimated start from the fleet's recorded p50s (one read per model per
/// <see cref="LatencyAuditOptions.EstimateCacheFor"/>). Never throws and never holds a submission
/// longer than <see cref="LatencyAuditOptions.FirstReadWait"/>: what cannot be read is null.
/// </summary>
public sealed class QueueEstimator(
    JobQueue queue,
    ModelCatalog catalog,
    LatencyReader reader,
    IOptionsMonitor<LatencyAuditOptions> options,
    TimeProvider time,
    ILogger<QueueEstimator> logger) : IQueueOutlook
{
    private const int MaxModels = 1000;

    private readonly ConcurrentDictionary<string, SharedRead<ModelPercentiles>> _percentiles = new(StringComparer.Ordinal);
    private SharedRead<long?>? _depth;

    /// <summary>Reads what the estimate needs for <paramref name="model"/>; start it alongside the submission.</summary>
    public async Task<QueueState> ReadAsync(string model)
    {
        try
        {
            var settings = options.CurrentValue;
            var depth = Depth().GetAsync(settings.QueueDepthCacheFor, settings.FirstReadWait, settings.ReadTimeout);
            var percentiles = PercentilesOf(model).GetAsync(settings.EstimateCacheFor, settings.FirstReadWait, settings.ReadTimeout);
            var served = (await catalog.GetAsync()).GetValueOrDefault(model);
            var p50 = await percentiles;
            return new QueueState(await depth, served?.Workers ?? 0, served?.WarmWorkers ?? 0, p50.ExecutionMs, p50.ColdStartMs);
        }
        catch (Exception ex)
        {
            LatencyAuditLog.QueueEstimateFailed(logger, ex);
            return new QueueState(null, 0, 0, null, null);
        }
    }

    /// <inheritdoc/>
    async Task<Func<DateTimeOffset, QueueView>> IQueueOutlook.ReadAsync(string model)
    {
        var state = await ReadAsync(model);
        return createdAt => Estimate(state, createdAt);
    }

    /// <summary>
    /// The <c>queue</c> object of the 202: estimated start = p50 execution × depth ÷ max(warm workers
    /// × <see cref="LatencyAuditOptions.WorkerConcurrency"/>, 1), plus the p50 cold start when no
    /// worker is warm; null when the depth or a p50 it needs is unknown.
    /// </summary>
    public QueueView Estimate(QueueState state, DateTimeOffset createdAt) =>
        Estimate(state, createdAt, options.CurrentValue.WorkerConcurrency);

    public static QueueView Estimate(QueueState state, DateTimeOffset createdAt, int workerConcurrency)
    {
        long? startMs = null;
        if (state.Depth is { } depth)
        {
            var slots = Math.Max(state.WarmWorkers * workerConcurrency, 1);
            double? wait = depth == 0 ? 0 : state.ExecutionP50Ms * depth / slots;
            if (state.WarmWorkers == 0)
            {
                wait += state.ColdStartP50Ms;
            }

            startMs = wait is { } ms ? (long)Math.Ceiling(ms) : null;
        }

        return new QueueView(state.Depth, state.WarmWorkers, state.Workers, startMs is { } start ? createdAt.AddMilliseconds(start) : null, startMs);
    }

    private SharedRead<long?> Depth() =>
        LazyInitializer.EnsureInitialized(ref _depth, () => new SharedRead<long?>(ReadDepthAsync, null, time, ex => LatencyAuditLog.QueueDepthUnreadable(logger, ex)));

    private SharedRead<ModelPercentiles> PercentilesOf(string model)
    {
        if (_percentiles.TryGetValue(model, out var cached))
        {
            return cached;
        }

        var created = new SharedRead<ModelPercentiles>(_ => ReadPercentilesAsync(model), ModelPercentiles.None, time, ex => LatencyAuditLog.LatencyUnreadable(logger, ex, model));
        return _percentiles.Count < MaxModels ? _percentiles.GetOrAdd(model, created) : created;
    }

    private async Task<long?> ReadDepthAsync(CancellationToken cancellationToken)
    {
        var urls = await queue.GetUrlsAsync(cancellationToken);
        var attributes = await queue.Client.GetQueueAttributesAsync(
            new GetQueueAttributesRequest { QueueUrl = urls.Jobs, AttributeNames = ["ApproximateNumberOfMessages"] },
            cancellationToken);
        return attributes.ApproximateNumberOfMessages;
    }

    private async Task<ModelPercentiles> ReadPercentilesAsync(string model)
    {
        var to = time.GetUtcNow();
        var execution = LatencySeries.Execution(model);
        var coldStart = LatencySeries.ColdStart(model);
        var read = await reader.ReadAsync([execution, coldStart], to - options.CurrentValue.ReportWindow, to);
        return new ModelPercentiles(read[execution].Percentile(0.5), read[coldStart].Percentile(0.5));
    }

    private sealed record ModelPercentiles(double? ExecutionMs, double? ColdStartMs)
    {
        public static readonly ModelPercentiles None = new(null, null);
    }
}

/// <summary>What the estimate rests on: queue depth (null: unknown), the model's workers, and its recorded p50s.</summary>
public sealed record QueueState(long? Depth, int Workers, int WarmWorkers, double? ExecutionP50Ms, double? ColdStartP50Ms);
