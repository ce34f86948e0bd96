using Microsoft.Extensions.Configuration;
using Yarp.ReverseProxy.Configuration;

namespace InferenceGateway.Tests.Infrastructure;

/// <summary>
/// A configuration source a test changes while the gateway runs: <see cref="Set"/> changes keys and
/// raises the reload token, as a reloaded file or a configuration service would.
/// </summary>
public sealed class ReloadableConfiguration : ConfigurationProvider, IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    public void Set(IDictionary<string, string?> values)
    {
        foreach (var (key, value) in values)
        {
            Data[key] = value;
        }

        OnReload();
    }
}

/// <summary>Completes when YARP has applied (or failed to apply) a new proxy configuration.</summary>
public sealed class ProxyConfigApplied : IConfigChangeListener
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Call before changing configuration; the task ends when that change has been applied.</summary>
    public Task Next()
    {
        _next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _next.Task;
    }

    public void ConfigurationApplied(IReadOnlyList<IProxyConfig> proxyConfigs) => _next.TrySetResult();

    public void ConfigurationApplyingFailed(IReadOnlyList<IProxyConfig> proxyConfigs, Exception exception) => _next.TrySetException(exception);

    public void ConfigurationLoaded(IReadOnlyList<IProxyConfig> proxyConfigs)
    {
    }

    public void ConfigurationLoadingFailed(IProxyConfigProvider configProvider, Exception exception) => _next.TrySetException(exception);
}
