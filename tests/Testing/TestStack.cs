using Amazon.Runtime;
using Amazon.SQS;
using StackExchange.Redis;

namespace InferenceGateway.Tests.Infrastructure;

/// <summary>
/// The real components every test shares: one redis-server and one fauxqs SQS emulator, started
/// on free loopback ports for the test run. Tests isolate themselves with unique queue names, ids
/// and keys, not with separate servers.
/// </summary>
public static class TestStack
{
    private static ExternalProcess? _redis;
    private static ExternalProcess? _sqs;
    private static ConnectionMultiplexer? _multiplexer;
    private static AmazonSQSClient? _sqsClient;

    public static string RedisConfiguration => $"127.0.0.1:{Redis.Port}";

    public static string SqsUrl => $"http://127.0.0.1:{Sqs.Port}";

    public static ExternalProcess Redis => _redis ?? throw new InvalidOperationException("The test stack is not started.");

    public static ExternalProcess Sqs => _sqs ?? throw new InvalidOperationException("The test stack is not started.");

    public static IConnectionMultiplexer Multiplexer => _multiplexer ?? throw new InvalidOperationException("The test stack is not started.");

    public static async Task StartAsync()
    {
        _redis = await StartRedisAsync();
        _sqs = await ExternalProcess.StartAsync(
            RepoPaths.Node,
            _ => ["--import", RepoPaths.FauxqsLoopbackShim, RepoPaths.FauxqsStart],
            new Dictionary<string, string>
            {
                ["FAUXQS_PORT"] = "{port}",
                ["FAUXQS_LOGGER"] = "false",
            });
        _multiplexer = await ConnectionMultiplexer.ConnectAsync(RedisConfiguration);
        _sqsClient = CreateSqsClient();
    }

    public static Task<ExternalProcess> StartRedisAsync(int? port = null) =>
        ExternalProcess.StartAsync(
            "redis-server",
            p => ["--port", p.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            port: port);

    public static async Task StopAsync()
    {
        _sqsClient?.Dispose();
        if (_multiplexer is not null)
        {
            await _multiplexer.DisposeAsync();
        }

        if (_sqs is not null)
        {
            await _sqs.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    /// <summary>Messages on a queue, visible or in flight: what "nothing was enqueued" is checked against.</summary>
    public static async Task<int> QueuedCountAsync(string queueName)
    {
        var sqs = _sqsClient ?? throw new InvalidOperationException("The test stack is not started.");
        var url = (await sqs.GetQueueUrlAsync(queueName)).QueueUrl;
        var attributes = await sqs.GetQueueAttributesAsync(url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]);
        return attributes.ApproximateNumberOfMessages + attributes.ApproximateNumberOfMessagesNotVisible;
    }

    /// <summary>An SQS client for the emulator, for tests that inspect queues directly.</summary>
    public static AmazonSQSClient CreateSqsClient() =>
        new(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = SqsUrl, AuthenticationRegion = "us-east-1" });

    /// <summary>Configuration shared by gateway and worker under test, with queues unique to the caller.</summary>
    public static Dictionary<string, string?> Configuration(string queueName) => new()
    {
        ["Redis:Configuration"] = RedisConfiguration,
        ["Sqs:ServiceUrl"] = SqsUrl,
        ["Sqs:Region"] = "us-east-1",
        ["Sqs:AccessKey"] = "test",
        ["Sqs:SecretKey"] = "test",
        ["Sqs:QueueName"] = queueName,
        ["Sqs:DeadLetterQueueName"] = queueName + "-dlq",
        ["Sqs:CreateQueues"] = "true",
        ["Sqs:VisibilityTimeoutSeconds"] = "30",
        ["Logging:LogLevel:Default"] = "Warning",

        // Tests that are not about limits must not meet them; those that are set their own plans.
        ["RateLimits:Plans:free:RequestsPerSecond"] = "10000",
        ["RateLimits:Plans:free:Burst"] = "10000",
        ["RateLimits:Plans:free:HubConnectsPerSecond"] = "10000",
        ["RateLimits:Plans:free:HubConnectBurst"] = "10000",

        // The edge model (90 MB, loaded at start) only where a test is about it: tests under Edge/ turn it on.
        ["Edge:Enabled"] = "false",
    };

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 80)];
}
