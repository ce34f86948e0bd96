using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Worker.Inference;
using InferenceGateway.Worker.Jobs;
using InferenceGateway.Worker.Queue;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Worker;

public static class WorkerHostBuilderExtensions
{
    /// <summary>Everything the inference worker runs: the job store, the queue, the model host and the poller.</summary>
    public static IHostApplicationBuilder AddInferenceWorker(this IHostApplicationBuilder builder)
    {
        builder.Services.AddJobStore();
        builder.Services.AddJobQueue();
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
        builder.Services.AddInference(); // before the poller: its start-up checks run first
        builder.Services.AddSingleton<JobProcessor>();
        builder.Services.AddHostedService<SqsJobPoller>();
        return builder;
    }
}
