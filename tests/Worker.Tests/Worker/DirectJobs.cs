using System.Text.Json;
using Amazon.SQS;
using Amazon.SQS.Model;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.Worker;

/// <summary>
/// Jobs made the way the gateway makes them (a record in Redis, then a message on the queue), but
/// with fields the test chooses: timeouts, expiry, many texts.
/// </summary>
internal static class DirectJobs
{
    public const string Model = "all-minilm-l6-v2";

    /// <summary>Texts at the 256-token limit: about a second of model time per 32 on two cores.</summary>
    public static string[] LongTexts(int count) =>
        [.. Enumerable.Range(0, count).Select(i => string.Join(' ', Enumerable.Range(0, 300).Select(w => $"word{((i * 7) + w) % 97}")))];

    /// <summary>
    /// The most <see cref="LongTexts"/> one job may hold here: their message stays under the queue's
    /// 1 MiB limit (about 2.1 kB a text).
    /// </summary>
    public const int MaxLongTexts = 448;

    /// <summary>
    /// This machine's model rate, measured through the worker under test: runs two jobs of
    /// <paramref name="count"/> long texts, one after the other, and returns the faster one's model
    /// time per text in milliseconds (the first pays for a cold model and JIT). Tests that need a run
    /// of a given length size their job from it instead of assuming a slow machine.
    /// </summary>
    public static async Task<double> MeasureMsPerLongTextAsync(RedisJobStore store, IAmazonSQS sqs, string queueUrl, TimeSpan timeout, int count = 32)
    {
        var fastest = double.MaxValue;
        for (var round = 0; round < 2; round++)
        {
            var job = Message(TestStack.UniqueName("rate"), LongTexts(count));
            await SubmitAsync(store, sqs, queueUrl, job);
            var events = await WaitForAsync(store, job.JobId, timeout);
            Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed), "the rate-measuring job completed");
            var record = await store.GetAsync(job.JobId);
            fastest = Math.Min(fastest, Math.Max(record!.Metrics.ExecutionMs ?? 0, 1) / count);
        }

        TestContext.Out.WriteLine($"model rate here: {fastest:F1} ms per long text (the faster of 2 jobs of {count})");
        return fastest;
    }

    /// <summary>
    /// How many long texts, in whole slices of <paramref name="slice"/>, make at least
    /// <paramref name="modelTime"/> at <paramref name="msPerText"/>: no fewer than 256 (what these
    /// tests used before, enough on a slow machine), no more than <see cref="MaxLongTexts"/>.
    /// </summary>
    public static int LongTextsFor(TimeSpan modelTime, double msPerText, int slice = 32)
    {
        var texts = Math.Max(256, (int)Math.Ceiling(modelTime.TotalMilliseconds / msPerText));
        var slices = (texts + slice - 1) / slice;
        return Math.Min(slices * slice, MaxLongTexts / slice * slice);
    }

    public static JobMessage Message(string tenant, IReadOnlyList<string> texts, int? executionTimeoutMs = null, DateTimeOffset? expiresAt = null) => new()
    {
        SchemaVersion = JobMessage.CurrentSchemaVersion,
        JobId = $"job_{Guid.NewGuid():N}",
        Tenant = tenant,
        Model = Model,
        Input = new JobInput { Texts = texts },
        CreatedAt = DateTimeOffset.UtcNow,
        ExecutionTimeoutMs = executionTimeoutMs,
        ExpiresAt = expiresAt,
    };

    /// <summary>Records the job and sends its message; returns the job id.</summary>
    public static async Task<string> SubmitAsync(RedisJobStore store, IAmazonSQS sqs, string queueUrl, JobMessage job)
    {
        await CreateAsync(store, job);
        await SendAsync(sqs, queueUrl, job);
        return job.JobId;
    }

    public static Task CreateAsync(RedisJobStore store, JobMessage job) =>
        store.CreateAsync(job.JobId, job.Tenant, job.Model, job.CreatedAt);

    public static Task SendAsync(IAmazonSQS sqs, string queueUrl, JobMessage job) =>
        sqs.SendMessageAsync(new SendMessageRequest
        {
            QueueUrl = queueUrl,
            MessageBody = JsonSerializer.Serialize(job, ContractsJsonContext.Default.JobMessage),
            MessageAttributes = new()
            {
                [JobMessageAttributes.JobId] = new MessageAttributeValue { DataType = "String", StringValue = job.JobId },
                [JobMessageAttributes.Tenant] = new MessageAttributeValue { DataType = "String", StringValue = job.Tenant },
            },
        });

    /// <summary>Waits until the job's log holds a terminal event (or an event of <paramref name="type"/>), then returns the log.</summary>
    public static async Task<IReadOnlyList<JobEvent>> WaitForAsync(RedisJobStore store, string jobId, TimeSpan timeout, string? type = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        var events = new List<JobEvent>();
        while (true)
        {
            // The whole log, page by page: a generation job can append thousands of token events
            // (a first version read the first 1 000 only, and missed the end of a fast run).
            IReadOnlyList<JobEvent> page;
            do
            {
                page = await store.ReadEventsAsync(jobId, events.Count > 0 ? events[^1].Seq : 0, 1000);
                events.AddRange(page);
            }
            while (page.Count == 1000);

            if (events.Any(e => type is null ? JobEventTypes.IsTerminal(e.Type) : e.Type == type))
            {
                return events;
            }

            await Task.Delay(50, cts.Token);
        }
    }
}

/// <summary>
/// A queue of its own on the test stack, with a gateway that created it (and the job store and an
/// SQS client beside it), for worker tests that start and stop workers themselves.
/// </summary>
internal sealed class QueueStack : IAsyncDisposable
{
    private QueueStack(Dictionary<string, string?> configuration, GatewayServer gateway, QueueUrls urls)
    {
        Configuration = configuration;
        Gateway = gateway;
        Urls = urls;
        Store = gateway.Services.GetRequiredService<RedisJobStore>();
    }

    public Dictionary<string, string?> Configuration { get; }

    public GatewayServer Gateway { get; }

    public RedisJobStore Store { get; }

    public QueueUrls Urls { get; }

    public AmazonSQSClient Sqs { get; } = TestStack.CreateSqsClient();

    /// <summary><see cref="TestStack.Configuration"/> for a queue named after <paramref name="name"/>, with <paramref name="settings"/> over it.</summary>
    public static async Task<QueueStack> StartAsync(string name, Dictionary<string, string?> settings)
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName(name));
        foreach (var (key, value) in settings)
        {
            configuration[key] = value;
        }

        var gateway = await GatewayServer.StartAsync(configuration);
        return new QueueStack(configuration, gateway, await gateway.Services.GetRequiredService<JobQueue>().GetUrlsAsync());
    }

    public void Deconstruct(out Dictionary<string, string?> configuration, out RedisJobStore store, out QueueUrls urls, out AmazonSQSClient sqs) =>
        (configuration, store, urls, sqs) = (Configuration, Store, Urls, Sqs);

    public async ValueTask DisposeAsync()
    {
        Sqs.Dispose();
        await Gateway.DisposeAsync();
    }
}
