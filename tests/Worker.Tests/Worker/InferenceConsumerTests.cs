using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Worker;
using InferenceGateway.Worker.Jobs;
using InferenceGateway.Worker.Queue;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// The inference consumer in MassTransit's Mediator test harness, with the worker's own middleware
/// (<see cref="InferencePipeline"/>): the timeout filter and the retry of transient Redis errors.
/// The consumer's dependencies are the worker's real ones (Redis, the model), built but not started.
/// </summary>
[TestFixture]
public sealed class InferenceConsumerTests
{
    [Test]
    public async Task TimeoutFilter_EndsAnInvocationOverTheWorkersLimit_TimedOut()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("consumer"));
        configuration["Worker:InvocationTimeoutSeconds"] = "1";
        using var host = BuildWorker(configuration);
        var store = host.Services.GetRequiredService<RedisJobStore>();
        var job = DirectJobs.Message(TestStack.UniqueName("t"), DirectJobs.LongTexts(256));
        await DirectJobs.CreateAsync(store, job);
        using var harness = Harness(host);
        await harness.Start();

        await harness.Mediator.Send(new RunJob(job, "m-1", 1)); // returns once the consumer is done

        var record = await store.GetAsync(job.JobId);
        Assert.That(record!.Status, Is.EqualTo(JobStatuses.TimedOut));
        Assert.That(record.Error!.Message, Does.Contain("1000 ms"));
        var events = await store.ReadEventsAsync(job.JobId, 0, 100);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { JobEventTypes.Queued, JobEventTypes.Started, JobEventTypes.TimedOut }));
    }

    [Test]
    public async Task TransientRedisError_IsRetriedInsideTheDelivery_ThenReachesTheEventSource()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("consumer"));
        configuration["Worker:TransientRetries"] = "2";
        configuration["Redis:Configuration"] = $"127.0.0.1:{ExternalProcess.FreePort()},connectTimeout=300,asyncTimeout=500";
        using var host = BuildWorker(configuration);
        var attempts = 0;
        using var harness = Harness(host, mediator => mediator.UseExecute(_ => Interlocked.Increment(ref attempts)));
        await harness.Start();
        var job = DirectJobs.Message("t", ["Redis is away"]);

        Assert.ThrowsAsync(Is.InstanceOf<StackExchange.Redis.RedisException>(), () => harness.Mediator.Send(new RunJob(job, "m-2", 1)));
        Assert.That(attempts, Is.EqualTo(3), "one attempt and two retries");
    }

    private static IHost BuildWorker(IDictionary<string, string?> configuration)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.AddInferenceWorker();
        return builder.Build();
    }

    private static MediatorTestHarness Harness(IHost host, Action<IMediatorConfigurator>? inner = null)
    {
        var options = host.Services.GetRequiredService<IOptions<WorkerOptions>>().Value;
        var harness = new MediatorTestHarness { TestTimeout = TimeSpan.FromSeconds(60) };
        harness.OnConfigureMediator += mediator =>
        {
            InferencePipeline.Configure(mediator, options);
            inner?.Invoke(mediator);
            mediator.Consumer(() => ActivatorUtilities.CreateInstance<InferenceConsumer>(host.Services));
        };
        return harness;
    }
}
