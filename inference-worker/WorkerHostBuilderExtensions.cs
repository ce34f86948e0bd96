using Amazon.SQS;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Latency;
using InferenceGateway.Core.Queue;
using InferenceGateway.Inference;
using InferenceGateway.Inference.Batching;
using InferenceGateway.Worker.Jobs;
using InferenceGateway.Worker.Queue;
using InferenceGateway.Worker.Streaming;
using MassTransit;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Worker;

public static class WorkerHostBuilderExtensions
{
    /// <summary>
    /// Everything the inference worker runs: the job store, the queue, the model host, the
    /// inference consumer on MassTransit's Mediator, the SQS event source and the dead-letter monitor.
    /// </summary>
    public static IHostApplicationBuilder AddInferenceWorker(this IHostApplicationBuilder builder)
    {
        builder.Services.AddJobStore();
        builder.Services.AddJobQueue();
        builder.Services.AddLatencyRecorder();
        builder.Services.AddOptions<WorkerOptions>()
            .BindConfiguration(WorkerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<SqsOptions>()
            .PostConfigure<IOptions<WorkerOptions>>((sqs, worker) =>
            {
                var longPoll = TimeSpan.FromSeconds(worker.Value.WaitTimeSeconds) + WorkerOptions.LongPollMargin;
                if (sqs.RequestTimeout < longPoll)
                {
                    sqs.RequestTimeout = longPoll;
                }
            });

        // Room for the grace period running jobs get and, in parallel, an open long poll's return,
        // plus releasing their messages. dev.sh's wait before SIGKILL and compose's
        // stop_grace_period are this plus 5 s.
        builder.Services.AddOptions<HostOptions>()
            .PostConfigure<IOptions<WorkerOptions>>((host, worker) =>
                host.ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(worker.Value.ShutdownGraceSeconds, worker.Value.WaitTimeSeconds)) + TimeSpan.FromSeconds(15));

        builder.Services.AddInference(); // before the event source: its start-up checks run first
        builder.Services.AddOptions<BatchingOptions>()
            .BindConfiguration(BatchingOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Registered after the model host, so disposed before it: running batches finish first.
        builder.Services.AddSingleton<EmbeddingBatcher>();
        builder.Services.AddSingleton<WorkerLifetime>();
        builder.Services.AddOptions<StreamingOptions>()
            .BindConfiguration(StreamingOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IJobEventLog, RedisJobEventLog>();
        builder.Services.AddSingleton<JobStreams>();
        builder.Services.AddSingleton<JobCancellations>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobCancellations>());
        builder.Services.AddSingleton<JobModelRunner>();
        builder.Services.AddMediator(mediator =>
        {
            mediator.AddConsumer<InferenceConsumer>();
            mediator.ConfigureMediator((context, configurator) =>
                InferencePipeline.Configure(configurator, context.GetRequiredService<IOptions<WorkerOptions>>().Value));
        });
        builder.Services.AddSingleton<JobTally>();
        builder.Services.AddSingleton<WorkerMetrics>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobTally>());
        builder.Services.AddSingleton(sp => new ReceiptBatchCoalescer(
            sp.GetRequiredService<IAmazonSQS>(),
            TimeSpan.FromMilliseconds(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.DeleteWindowMs),
            sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<JobMessageHandler>();
        builder.Services.AddHostedService<SqsEventSource>();
        builder.Services.AddHostedService<DeadLetterMonitor>();
        builder.Services.AddSingleton<WorkerRegistration>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkerRegistration>());
        return builder;
    }
}
