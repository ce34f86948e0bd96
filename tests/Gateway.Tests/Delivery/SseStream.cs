using System.Globalization;
using System.Text.Json;
using InferenceGateway.Contracts;

namespace InferenceGateway.Tests.Delivery;

/// <summary>
/// A Server-Sent Events client read frame by frame, as a browser's EventSource would: it sends
/// <c>Last-Event-ID</c> to resume, and keeps the comments it saw (keep-alives, reasons for ending).
/// </summary>
internal sealed class SseStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseStream(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    /// <summary>Comment lines seen so far (safe to read while a read is in progress).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Comments { get; } = new();

    /// <summary>The reconnection delay the server asked for with <c>retry:</c>, if it did.</summary>
    public int? Retry { get; private set; }

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
        return new SseStream(response, new StreamReader(stream));
    }

    /// <summary>The next event, or null when the server ended the stream.</summary>
    public async Task<JobEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        string? id = null, type = null, data = null;
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is null)
                {
                    continue; // a comment or retry block
                }

                var jobEvent = JsonSerializer.Deserialize(data, ContractsJsonContext.Default.JobEvent)!;
                Assert.That(id, Is.EqualTo(jobEvent.Seq.ToString(CultureInfo.InvariantCulture)), "the SSE id is the event's seq");
                Assert.That(type, Is.EqualTo(jobEvent.Type), "the SSE event name is the event's type");
                return jobEvent;
            }

            if (line.StartsWith(':'))
            {
                Comments.Enqueue(line[1..].Trim());
            }
            else if (line.StartsWith("retry: ", StringComparison.Ordinal))
            {
                Retry = int.Parse(line[7..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        return null;
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

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
