// A small client for the gateway: submits an embedding job, prints each event the hub pushes,
// then the result. Used by `./dev.sh demo`; also a worked example of the client side of the API.
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using InferenceGateway.Contracts;
using Microsoft.AspNetCore.SignalR.Client;

string? url = null, key = null, model = "all-minilm-l6-v2";
var texts = new List<string>();
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--url": url = args[i + 1]; break;
        case "--key": key = args[i + 1]; break;
        case "--model": model = args[i + 1]; break;
        case "--text": texts.Add(args[i + 1]); break;
        default: break;
    }
}

if (url is null || key is null || texts.Count == 0)
{
    Console.Error.WriteLine("usage: JobClient --url <gateway> --key <api key> --text <text> [--text ...] [--model <model>]");
    return 2;
}

using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
using var http = new HttpClient { BaseAddress = new Uri(url) };
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

var submitted = await http.PostAsJsonAsync("/v1/jobs", new { model, input = new { texts } }, timeout.Token);
var body = await submitted.Content.ReadAsStringAsync(timeout.Token);
if ((int)submitted.StatusCode != 202)
{
    Console.Error.WriteLine($"submit failed: {(int)submitted.StatusCode} {body}");
    return 1;
}

var jobId = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
Console.WriteLine($"POST /v1/jobs -> 202 {jobId}");

await using var hub = new HubConnectionBuilder()
    .WithUrl(new Uri(new Uri(url), "/hubs/jobs"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(key))
    .Build();
await hub.StartAsync(timeout.Token);
Console.WriteLine("SignalR connected to /hubs/jobs; StreamJob(jobId, afterSeq: 0):");

string? terminal = null;
await foreach (var e in hub.StreamAsync<JobEvent>("StreamJob", jobId, 0L, timeout.Token))
{
    var data = e.Data is { } d ? d.GetRawText() : "null";
    if (data.Length > 160)
    {
        data = data[..160] + "…";
    }

    Console.WriteLine($"  event seq={e.Seq} type={e.Type} at={e.At.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)} data={data}");
    terminal = e.Type;
}

var job = JsonDocument.Parse(await http.GetStringAsync($"/v1/jobs/{jobId}", timeout.Token)).RootElement;
Console.WriteLine($"GET /v1/jobs/{jobId} -> status={job.GetProperty("status").GetString()} metrics={job.GetProperty("metrics").GetRawText()}");
if (job.GetProperty("result") is { ValueKind: JsonValueKind.Object } result)
{
    var embeddings = result.GetProperty("embeddings");
    Console.WriteLine($"result: model={result.GetProperty("model").GetString()} dimensions={result.GetProperty("dimensions").GetInt32()} embeddings={embeddings.GetArrayLength()}");
    var index = 0;
    foreach (var vector in embeddings.EnumerateArray())
    {
        var head = string.Join(", ", vector.EnumerateArray().Take(5).Select(v => v.GetSingle().ToString("0.0000", CultureInfo.InvariantCulture)));
        Console.WriteLine($"  [{index}] \"{texts[index]}\" -> {vector.GetArrayLength()} floats: {head}, …");
        index++;
    }
}

return terminal == JobEventTypes.Completed ? 0 : 1;
