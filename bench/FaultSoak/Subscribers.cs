using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace InferenceGateway.FaultSoak;

/// <summary>
/// Subscribers that follow a job to its end over SSE (<c>GET /v1/jobs/{id}/events</c>) or the hub
/// (<c>StreamJob(jobId, afterSeq)</c>), drop on purpose after the planned numbers of events, and
/// resume from their cursor (<c>Last-Event-ID</c> / <c>afterSeq</c>) on either gateway; a
/// connection a fault breaks is resumed the same way. Every event's seq is kept for the ledger.
/// </summary>
internal static class Subscribers
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static async Task FollowAsync(SoakClient client, string key, JobEntry job, SubscriberLog log, CancellationToken stop)
    {
        var drops = new Queue<int>(job.Plan.DropAfter);
        log.PlannedDrops = drops.Count;
        var cursor = 0L;
        var gateway = job.Plan.Gateway;
        var first = true;
        while (!log.Finished && !stop.IsCancellationRequested)
        {
            if (!first)
            {
                log.Reconnects++;
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200 + (100 * Math.Min(log.Reconnects, 10))), stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            first = false;
            var dropAfter = drops.Count > 0 ? drops.Peek() : int.MaxValue;
            using var connection = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var received = 0;
            bool Take(JobEvent e)
            {
                log.Seqs.Add(e.Seq);
                log.Types.Add(e.Type);
                cursor = e.Seq;
                received++;
                if (JobEventTypes.IsTerminal(e.Type))
                {
                    log.Finished = true;
                    return false;
                }

                if (received >= dropAfter)
                {
                    drops.Dequeue();
                    return false; // drop on purpose
                }

                return true;
            }

            try
            {
                var target = client.Gateways[gateway++ % client.Gateways.Count];
                if (log.Channel == "sse")
                {
                    await SseAsync(client.Http, target, key, job.Id, cursor, Take, log, connection.Token);
                }
                else
                {
                    await HubAsync(target, key, job.Id, cursor, Take, connection.Token);
                }
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                log.LastError = ex.GetType().Name + ": " + ex.Message;
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private static async Task SseAsync(HttpClient http, Uri gateway, string key, string jobId, long cursor, Func<JobEvent, bool> take, SubscriberLog log, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, $"/v1/jobs/{jobId}/events"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (cursor > 0)
        {
            request.Headers.Add("Last-Event-ID", cursor.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // The client's own timeout would cut a long stream: a stream is bounded by the caller's token instead.
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            log.LastError = "204 after Last-Event-ID " + cursor; // ended, nothing after the cursor: the terminal event was missed
            log.Finished = true;
            return;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"SSE answered {(int)response.StatusCode}");
        }

        await using var reader = new SseReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadDataAsync(cancellationToken) is { } data)
        {
            var e = JsonSerializer.Deserialize<JobEvent>(data, Web)!;
            if (!take(e))
            {
                return;
            }
        }

        throw new IOException("the SSE stream ended before the terminal event");
    }

    private static async Task HubAsync(Uri gateway, string key, string jobId, long cursor, Func<JobEvent, bool> take, CancellationToken cancellationToken)
    {
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(gateway, "/hubs/jobs"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(key))
            .Build();
        await using (hub)
        {
            await hub.StartAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(20), cancellationToken);
            using var streaming = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await foreach (var e in hub.StreamAsync<JobEvent>("StreamJob", jobId, cursor, streaming.Token))
            {
                if (!take(e))
                {
                    await streaming.CancelAsync();
                    return;
                }
            }

            throw new IOException("the hub stream completed before the terminal event");
        }
    }
}
