using System.Globalization;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Delivery;

/// <summary>
/// A job's event stream over Server-Sent Events, read event by event (<see cref="SseReader"/>) as a
/// browser's EventSource would: it sends <c>Last-Event-ID</c> to resume, and keeps the comments it
/// saw (keep-alives, reasons for ending).
/// </summary>
internal sealed class SseStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly SseReader _reader;

    private SseStream(HttpResponseMessage response, SseReader reader)
    {
        _response = response;
        _reader = reader;
    }

    /// <summary>Comment lines seen so far (safe to read while a read is in progress).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Comments => _reader.Comments;

    /// <summary>The reconnection delay the server asked for with <c>retry:</c>, in milliseconds, if it did.</summary>
    public int? Retry => _reader.ReconnectionInterval is { } interval ? (int)interval.TotalMilliseconds : null;

    public static async Task<SseStream> OpenAsync(HttpClient client, string jobId, long? lastEventId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{jobId}/events");
        if (lastEventId is { } id)
        {
            request.Headers.Add("Last-Event-ID", id.ToString(CultureInfo.InvariantCulture));
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            response.Dispose();
            throw new InvalidOperationException($"Expected an event stream, got {(int)response.StatusCode}: {body}");
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        return new SseStream(response, new SseReader(stream));
    }

    /// <summary>The next event, or null when the server ended the stream.</summary>
    public async Task<JobEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        if (await _reader.ReadAsync(cancellationToken) is not { } item)
        {
            return null;
        }

        var jobEvent = JsonSerializer.Deserialize(item.Data, ContractsJsonContext.Default.JobEvent)!;
        Assert.That(item.EventId, Is.EqualTo(jobEvent.Seq.ToString(CultureInfo.InvariantCulture)), "the SSE id is the event's seq");
        Assert.That(item.EventType, Is.EqualTo(jobEvent.Type), "the SSE event name is the event's type");
        return jobEvent;
    }

    /// <summary>Reads until the server ends the stream.</summary>
    public async Task<List<JobEvent>> ReadToEndAsync(CancellationToken cancellationToken)
    {
        var events = new List<JobEvent>();
        while (await ReadAsync(cancellationToken) is { } jobEvent)
        {
            events.Add(jobEvent);
        }

        return events;
    }

    public async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync();
        _response.Dispose();
    }
}
