using System.Diagnostics.Metrics;

namespace InferenceGateway.Gateway.Hubs;

/// <summary>
/// What this gateway instance holds open for push delivery right now: event streams being relayed
/// (hub and SSE) and hub connections. Every one is released when its client goes, so these return
/// to their baseline when subscribers leave (tested by subscribing and dropping a thousand times).
/// </summary>
public sealed class DeliveryStats : IDisposable
{
    public const string MeterName = "InferenceGateway.Delivery";

    private readonly Meter _meter;
    private readonly Histogram<double> _pushLatency;
    private long _streams;
    private long _sseStreams;
    private long _hubConnections;
    private long _eventsDelivered;

    public DeliveryStats(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        _meter.CreateObservableUpDownCounter("gateway.delivery.streams", () => Volatile.Read(ref _streams), description: "Job event streams being relayed (hub and SSE)");
        _meter.CreateObservableUpDownCounter("gateway.delivery.hub_connections", () => Volatile.Read(ref _hubConnections), description: "Open SignalR hub connections");
        _meter.CreateObservableCounter("gateway.delivery.events", () => Volatile.Read(ref _eventsDelivered), description: "Job events handed to subscribers");
        _pushLatency = _meter.CreateHistogram<double>("gateway.delivery.push_latency", "ms", "From an event's append to its hand-over to a subscriber");
    }

    public long Streams => Volatile.Read(ref _streams);

    public long SseStreams => Volatile.Read(ref _sseStreams);

    public long HubConnections => Volatile.Read(ref _hubConnections);

    public long EventsDelivered => Volatile.Read(ref _eventsDelivered);

    internal void StreamOpened() => Interlocked.Increment(ref _streams);

    internal void StreamClosed() => Interlocked.Decrement(ref _streams);

    internal void SseOpened() => Interlocked.Increment(ref _sseStreams);

    internal void SseClosed() => Interlocked.Decrement(ref _sseStreams);

    internal void HubConnected() => Interlocked.Increment(ref _hubConnections);

    internal void HubDisconnected() => Interlocked.Decrement(ref _hubConnections);

    internal void Delivered(TimeSpan sinceAppend)
    {
        Interlocked.Increment(ref _eventsDelivered);
        _pushLatency.Record(Math.Max(0, sinceAppend.TotalMilliseconds));
    }

    public void Dispose() => _meter.Dispose();
}
