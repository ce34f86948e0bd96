using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace InferenceGateway.Tests.Webhooks;

/// <summary>
/// A webhook receiver on real Kestrel (127.0.0.1:0). It records every request (path, headers, body)
/// and answers by path: <c>/fail-twice/…</c> 500 to the first two requests on that path, then 200;
/// <c>/redirect/…</c> a 302 to <c>/redirect-target/…</c>; <c>/busy/…</c> always 503 with
/// <c>Retry-After: 1</c>; <c>/busy-long/…</c> always 503 with <c>Retry-After: 10</c>; <c>/gone/…</c> 410; <c>/slow/…</c> answers only when the request is
/// abandoned; anything else 200.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _hitsByPath = new(StringComparer.Ordinal);

    private WebhookReceiver(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Every request, in arrival order.</summary>
    public ConcurrentQueue<ReceivedWebhook> Received { get; } = new();

    /// <summary>The requests whose path is <paramref name="path"/>, in arrival order.</summary>
    public List<ReceivedWebhook> At(string path) => [.. Received.Where(r => r.Path == path)];

    /// <summary>A URL on this receiver for <paramref name="path"/>.</summary>
    public string Url(string path) => new Uri(Address, path).ToString();

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            var path = context.Request.Path.ToString();
            receiver!.Received.Enqueue(new ReceivedWebhook(
                path,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body,
                DateTimeOffset.UtcNow));
            var hits = receiver._hitsByPath.AddOrUpdate(path, 1, (_, n) => n + 1);
            if (path.StartsWith("/fail-twice/", StringComparison.Ordinal) && hits <= 2)
            {
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            }
            else if (path.StartsWith("/gone/", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status410Gone;
            }
            else if (path.StartsWith("/slow/", StringComparison.Ordinal))
            {
                try
                {
                    await Task.Delay(System.Threading.Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
                {
                    return;
                }
            }
            else if (path.StartsWith("/busy-long/", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "10";
            }
            else if (path.StartsWith("/busy/", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "1";
            }
            else if (path.StartsWith("/redirect/", StringComparison.Ordinal))
            {
                context.Response.StatusCode = StatusCodes.Status302Found;
                context.Response.Headers.Location = "/redirect-target" + path["/redirect".Length..];
            }
        });
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new WebhookReceiver(app, new Uri(address));
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}

/// <summary>One webhook request as the receiver saw it.</summary>
public sealed record ReceivedWebhook(string Path, IReadOnlyDictionary<string, string> Headers, string Body, DateTimeOffset ReceivedAt)
{
    public string Header(string name) => Headers.TryGetValue(name, out var value) ? value : string.Empty;
}
