using InferenceGateway.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace InferenceGateway.Tests.Infrastructure;

/// <summary>The real inference worker host, in process, polling the real SQS emulator.</summary>
public sealed class WorkerServer : IAsyncDisposable
{
    private readonly IHost _host;

    private WorkerServer(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    /// <summary>Starts a worker; <paramref name="services"/> may replace its services (an SQS client that tampers with calls, say).</summary>
    public static async Task<WorkerServer> StartAsync(IDictionary<string, string?> configuration, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            EnvironmentName = "Testing",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddInferenceWorker();
        services?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return new WorkerServer(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _host.Dispose();
    }
}
