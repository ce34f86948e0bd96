using System.Net.Http.Json;
using System.Net.Http.Headers;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway;
using InferenceGateway.Gateway.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Infrastructure;

/// <summary>The real gateway on real Kestrel, bound to 127.0.0.1:0.</summary>
public sealed class GatewayServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="configuration">Settings, over the gateway's own.</param>
    /// <param name="configure">Optional: more configuration sources or services before the gateway is added.</param>
    public static async Task<GatewayServer> StartAsync(IDictionary<string, string?> configuration, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(GatewayExtensions).Assembly.GetName().Name,
            EnvironmentName = "Testing",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        configure?.Invoke(builder);
        builder.AddGateway();
        var app = builder.Build();
        app.MapGateway();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GatewayServer(app, new Uri(address));
    }

    /// <summary>Creates an API key for a tenant through the gateway's own key store.</summary>
    public Task<string> CreateKeyAsync(string tenant, params string[] scopes) =>
        CreateKeyAsync(new NewApiKey(tenant, "test", scopes.Length > 0 ? scopes : [Scopes.JobsRead, Scopes.JobsWrite]));

    public async Task<string> CreateKeyAsync(NewApiKey request)
    {
        var created = await Services.GetRequiredService<ApiKeyStore>().CreateAsync(request);
        return created.Key;
    }

    /// <summary>Submits an embedding job for <paramref name="texts"/>, asserts the 202, and returns the job id.</summary>
    public async Task<string> SubmitJobAsync(string apiKey, params string[] texts)
    {
        using var client = CreateClient(apiKey);
        using var response = await client.PostAsJsonAsync("/v1/jobs", new { model = "all-minilm-l6-v2", input = new { texts } }).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.Accepted), body);
        return System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    public HttpClient CreateClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>A hub connection that presents <paramref name="accessToken"/>: an API key or a JWT.</summary>
    public HubConnection CreateHubConnection(string accessToken) =>
        new HubConnectionBuilder()
            .WithUrl(new Uri(BaseAddress, "/hubs/jobs"), options => options.AccessTokenProvider = () => Task.FromResult<string?>(accessToken))
            .Build();

    /// <summary>Collects a job's events over the hub until the stream completes; the caller presents an API key or a JWT.</summary>
    public async Task<List<JobEvent>> StreamJobAsync(string accessToken, string jobId, long afterSeq, TimeSpan timeout)
    {
        await using var hub = CreateHubConnection(accessToken);
        using var cts = new CancellationTokenSource(timeout);
        await hub.StartAsync(cts.Token);
        var events = new List<JobEvent>();
        await foreach (var jobEvent in hub.StreamAsync<JobEvent>("StreamJob", jobId, afterSeq, cts.Token))
        {
            events.Add(jobEvent);
        }

        return events;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}
