using System.Text.Json;
using Amazon.SQS;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Core.Queue;
using InferenceGateway.Inference.TextGeneration;
using InferenceGateway.Tests.Infrastructure;
using InferenceGateway.Tests.Worker;
using InferenceGateway.Tools.TinyModels;
using Microsoft.Extensions.DependencyInjection;

namespace InferenceGateway.Tests.TextGeneration;

/// <summary>
/// Generation jobs through the real worker (SQS emulator, Redis, the tiny model): token events,
/// the GenerationResult, bad input and cancellation mid-generation.
/// </summary>
[TestFixture]
public sealed class GenerationJobTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private WorkerServer _worker = null!;
    private RedisJobStore _store = null!;
    private AmazonSQSClient _sqs = null!;
    private string _queueUrl = null!;
    private TextGenerator _reference = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("generation"));
        configuration["Worker:WaitTimeSeconds"] = "1";
        configuration["Inference:ModelCacheDirectory"] = string.Empty;
        configuration[$"Models:{TinyModelWriter.ModelName}:Runtime"] = "text-generation";
        configuration[$"Models:{TinyModelWriter.ModelName}:Source"] = TinyModel.Directory;
        // Room for a generation long enough to cancel in the middle.
        configuration[$"Models:{TinyModelWriter.ModelName}:ContextLength"] = "400000";
        configuration[$"Models:{TinyModelWriter.ModelName}:MaxNewTokens"] = "24";
        configuration[$"Models:{TinyModelWriter.ModelName}:MaxCompletionTokens"] = "390000";
        _worker = await WorkerServer.StartAsync(configuration);
        _store = _worker.Services.GetRequiredService<RedisJobStore>();
        _queueUrl = (await _worker.Services.GetRequiredService<JobQueue>().GetUrlsAsync()).Jobs;
        _sqs = TestStack.CreateSqsClient();
        _reference = TinyModel.Load();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _reference.Dispose();
        _sqs.Dispose();
        await _worker.DisposeAsync();
    }

    [Test]
    public async Task ChatJob_StreamsTokens_WhoseTextIsTheResult_AndCompletesWithUsage()
    {
        var input = new JobInput { Messages = [new ChatMessage("system", "Be brief."), new ChatMessage("user", "Tell me a story.")], MaxTokens = 30 };
        var expected = _reference.Generate(_reference.PromptTokens(input), new GenerationSettings { MaxNewTokens = 30 });

        var (events, result) = await RunAsync(input);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Completed));
        Assert.That(result, Is.EqualTo(new GenerationResult(TinyModelWriter.ModelName, expected.Text, FinishReasons.Length, new TokenUsage(expected.PromptTokens, 30, expected.PromptTokens + 30))));
        var tokens = events.Where(e => e.Type == JobEventTypes.Token).Select(e => e.Data!.Value).ToArray();
        Assert.That(string.Concat(tokens.Select(t => t.GetProperty("text").GetString())), Is.EqualTo(result!.Text));
        Assert.That(tokens[0].GetProperty("index").GetInt64(), Is.Zero);
        Assert.That(tokens.Zip(tokens.Skip(1), (a, b) => b.GetProperty("index").GetInt64() - a.GetProperty("index").GetInt64() - a.GetProperty("count").GetInt64()), Is.All.Zero, "contiguous token positions");
        Assert.That(tokens.Sum(t => t.GetProperty("count").GetInt64()), Is.EqualTo(30));
        var record = await _store.GetAsync(events[0].JobId);
        Assert.That(record!.Metrics.BilledMs, Is.GreaterThan(0));
    }

    [Test]
    public async Task PromptJob_WithAStopSequence_EndsBeforeIt_AndNoTokenEventCarriesIt()
    {
        var reference = _reference.Generate(_reference.Tokenizer.Encode("The quick brown fox"), new GenerationSettings { MaxNewTokens = 60 });
        var stop = reference.Text.Substring(25, 4);
        var expected = reference.Text[..reference.Text.IndexOf(stop, StringComparison.Ordinal)];

        var (events, result) = await RunAsync(new JobInput { Prompt = "The quick brown fox", MaxTokens = 60, Stop = [stop] });

        Assert.That((result!.FinishReason, result.Text), Is.EqualTo((FinishReasons.Stop, expected)));
        var streamed = string.Concat(events.Where(e => e.Type == JobEventTypes.Token).Select(e => e.Data!.Value.GetProperty("text").GetString()));
        Assert.That(streamed, Is.EqualTo(expected));
    }

    [Test]
    public async Task SeededSamplingJob_IsReproducible()
    {
        var input = new JobInput { Prompt = "Hello", MaxTokens = 20, Temperature = 0.9f, TopP = 0.9f, Seed = 1234 };

        var (_, first) = await RunAsync(input);
        var (_, second) = await RunAsync(input);

        Assert.That(second!.Text, Is.EqualTo(first!.Text));
    }

    [TestCase("both", TestName = "BadInput_PromptAndMessages_FailsWithInvalidInput")]
    [TestCase("role", TestName = "BadInput_UnknownRole_FailsWithInvalidInput")]
    [TestCase("texts", TestName = "BadInput_Texts_FailsWithInvalidInput")]
    [TestCase("temperature", TestName = "BadInput_Temperature_FailsWithInvalidInput")]
    public async Task BadInput_FailsWithInvalidInput(string what)
    {
        var input = what switch
        {
            "both" => new JobInput { Prompt = "x", Messages = [new ChatMessage("user", "y")] },
            "role" => new JobInput { Messages = [new ChatMessage("wizard", "y")] },
            "texts" => new JobInput { Texts = ["a"] },
            _ => new JobInput { Prompt = "x", Temperature = 5 },
        };

        var (events, _) = await RunAsync(input);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Failed));
        var record = await _store.GetAsync(events[0].JobId);
        Assert.That(record!.Error!.Code, Is.EqualTo("invalid_input"));
        Assert.That(record.Error.Message, Does.Contain(what == "both" ? "exactly one of 'prompt'" : what == "role" ? "'wizard'" : what == "texts" ? "'texts'" : "'temperature'"));
    }

    [Test]
    public async Task PromptLongerThanTheContext_FailsWithContextLengthExceeded()
    {
        var job = Job(new JobInput { Prompt = new string('a', 9_000) }); // 9,000 tokens: no merges for "aa"
        await using var stack = await SmallContextWorkerAsync();

        await DirectJobs.SubmitAsync(stack.Store, _sqs, stack.QueueUrl, job);
        var events = await DirectJobs.WaitForAsync(stack.Store, job.JobId, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Failed));
        Assert.That((await stack.Store.GetAsync(job.JobId))!.Error!.Code, Is.EqualTo("context_length_exceeded"));
    }

    [Test]
    public async Task Cancel_MidGeneration_EndsCancelled_AfterTheTokensSoFar()
    {
        var job = Job(new JobInput { Prompt = "Go on", MaxTokens = 390_000 });
        await DirectJobs.SubmitAsync(_store, _sqs, _queueUrl, job);
        await DirectJobs.WaitForAsync(_store, job.JobId, Timeout, JobEventTypes.Token);

        Assert.That(await _store.CancelAsync(job.JobId), Is.EqualTo(CancelOutcome.Requested));
        var events = await DirectJobs.WaitForAsync(_store, job.JobId, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.Cancelled));
        Assert.That(events.Count(e => JobEventTypes.IsTerminal(e.Type)), Is.EqualTo(1));
        var generated = events.Where(e => e.Type == JobEventTypes.Token).Sum(e => e.Data!.Value.GetProperty("count").GetInt64());
        Assert.That(generated, Is.GreaterThan(0).And.LessThan(390_000));
    }

    [Test]
    public async Task GenerationPastItsExecutionTimeout_EndsTimedOut_WithTheTimeBilled()
    {
        var job = Job(new JobInput { Prompt = "Keep going", MaxTokens = 390_000 }) with { ExecutionTimeoutMs = 300 };

        await DirectJobs.SubmitAsync(_store, _sqs, _queueUrl, job);
        var events = await DirectJobs.WaitForAsync(_store, job.JobId, Timeout);

        Assert.That(events[^1].Type, Is.EqualTo(JobEventTypes.TimedOut));
        var record = await _store.GetAsync(job.JobId);
        Assert.That(record!.Error!.Code, Is.EqualTo("timed_out"));
        Assert.That(record.Metrics.BilledMs, Is.GreaterThanOrEqualTo(300));
        Assert.That(events.Any(e => e.Type == JobEventTypes.Token), Is.True, "the tokens generated before the limit were streamed");
    }

    private static JobMessage Job(JobInput input) => DirectJobs.Message(TestStack.UniqueName("t"), []) with { Model = TinyModelWriter.ModelName, Input = input };

    private async Task<(IReadOnlyList<JobEvent> Events, GenerationResult? Result)> RunAsync(JobInput input)
    {
        var job = Job(input);
        await DirectJobs.SubmitAsync(_store, _sqs, _queueUrl, job);
        var events = await DirectJobs.WaitForAsync(_store, job.JobId, Timeout);
        var result = events[^1].Type == JobEventTypes.Completed
            ? events[^1].Data!.Value.GetProperty("result").Deserialize(ContractsJsonContext.Default.GenerationResult)
            : null;
        return (events, result);
    }

    /// <summary>A second worker on its own queue whose tiny-llm has a context of 64 tokens.</summary>
    private static async Task<SmallContextWorker> SmallContextWorkerAsync()
    {
        var configuration = TestStack.Configuration(TestStack.UniqueName("generation-ctx"));
        configuration["Worker:WaitTimeSeconds"] = "1";
        configuration["Inference:ModelCacheDirectory"] = string.Empty;
        configuration[$"Models:{TinyModelWriter.ModelName}:Runtime"] = "text-generation";
        configuration[$"Models:{TinyModelWriter.ModelName}:Source"] = TinyModel.Directory;
        configuration[$"Models:{TinyModelWriter.ModelName}:ContextLength"] = "64";
        var worker = await WorkerServer.StartAsync(configuration);
        return new SmallContextWorker(worker, (await worker.Services.GetRequiredService<JobQueue>().GetUrlsAsync()).Jobs);
    }

    private sealed class SmallContextWorker(WorkerServer worker, string queueUrl) : IAsyncDisposable
    {
        public RedisJobStore Store { get; } = worker.Services.GetRequiredService<RedisJobStore>();

        public string QueueUrl { get; } = queueUrl;

        public ValueTask DisposeAsync() => worker.DisposeAsync();
    }
}
