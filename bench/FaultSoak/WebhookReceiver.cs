using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferenceGateway.FaultSoak;

/// <summary>
/// The jobs' webhook receiver, on loopback in this process: answers <c>200</c>, or <c>503</c> for a
/// share of requests (seeded) to force the gateways' retries, and keeps every request it answered.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Random _random;
    private readonly double _failShare;

    private WebhookReceiver(WebApplication app, int seed, double failShare)
    {
        _app = app;
        _random = new Random(seed);
        _failShare = failShare;
    }

    public ConcurrentQueue<WebhookHit> Hits { get; } = new();

    public Uri Address { get; private set; } = null!;

    public static async Task<WebhookReceiver> StartAsync(int seed, double failShare)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, seed, failShare);
        app.MapPost("/hooks", receiver.ReceiveAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Address = new Uri(address);
        return receiver;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private async Task<IResult> ReceiveAsync(HttpRequest request)
    {
        using var body = await JsonDocument.ParseAsync(request.Body);
        var data = body.RootElement.GetProperty("data");
        var jobId = data.GetProperty("jobId").GetString() ?? string.Empty;
        var seq = data.GetProperty("seq").GetInt64();
        var type = data.GetProperty("type").GetString() ?? string.Empty;
        bool fail;
        lock (_random)
        {
            fail = _random.NextDouble() < _failShare;
        }

        var status = fail ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        Hits.Enqueue(new WebhookHit(request.Headers["webhook-id"].ToString(), jobId, seq, type, status, DateTimeOffset.UtcNow));
        return Results.StatusCode(status);
    }
}
