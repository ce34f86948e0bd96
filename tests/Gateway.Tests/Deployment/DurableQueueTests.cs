using System.Collections.Concurrent;
using Amazon.SQS.Model;
using InferenceGateway.Tests.Infrastructure;

namespace InferenceGateway.Tests.Deployment;

/// <summary>
/// The emulator as dev.sh runs it keeps its queue on disk (<c>.local/sqs</c> there): what was
/// queued, in flight or given back before a stop is received after a restart on the same data
/// directory, and a store left by a SIGKILL in the middle of a stream of sends still starts.
/// </summary>
[TestFixture]
public sealed class DurableQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [TestCase("TERM")]
    [TestCase("KILL")]
    public async Task EmulatorWithADataDirectory_StoppedDuringSends_KeepsEveryAcknowledgedMessageAcrossARestart(string signal)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), TestStack.UniqueName("fauxqs-data"));
        var expected = new HashSet<string>();
        try
        {
            string queueUrl;
            int port;
            await using (var sqs = await SqsEmulator.StartAsync(dataDirectory))
            {
                port = sqs.Port;
                using var client = SqsEmulator.CreateClient(port);
                queueUrl = (await client.CreateQueueAsync(new CreateQueueRequest
                {
                    QueueName = "durable",
                    Attributes = new() { ["VisibilityTimeout"] = "30" },
                }).WaitAsync(Timeout)).QueueUrl;
                for (var i = 0; i < 10; i++)
                {
                    await client.SendMessageAsync(queueUrl, $"queued-{i}").WaitAsync(Timeout);
                    expected.Add($"queued-{i}");
                }

                // One message left in flight (visible again 2 s after it was received), one given
                // back at once (visibility 0), as a stopping worker releases what it holds.
                var received = await client.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queueUrl, MaxNumberOfMessages = 2, VisibilityTimeout = 2 }).WaitAsync(Timeout);
                Assert.That(received.Messages, Has.Count.EqualTo(2));
                await client.ChangeMessageVisibilityAsync(queueUrl, received.Messages[1].ReceiptHandle, 0).WaitAsync(Timeout);

                // The stop lands in the middle of a stream of sends: each one acknowledged must survive.
                var acknowledged = new ConcurrentQueue<string>();
                var writer = Task.Run(async () =>
                {
                    try
                    {
                        for (var n = 0; ; n++)
                        {
                            var body = $"streamed-{n}";
                            await client.SendMessageAsync(queueUrl, body);
                            acknowledged.Enqueue(body);
                        }
                    }
                    catch (Exception)
                    {
                        // The emulator is gone: the writer ends.
                    }
                });
                await Eventually.HoldsAsync(() => acknowledged.Count >= 20, Timeout, "20 sends acknowledged");
                await SqsEmulator.SignalAsync(sqs.Pid, signal);
                await Eventually.HoldsAsync(() => sqs.HasExited, Timeout, $"the emulator exits on SIG{signal}");
                await writer.WaitAsync(Timeout);
                expected.UnionWith(acknowledged);
            }

            // Starts on what the stop left (ExternalProcess throws if it exits instead of listening).
            await using var restarted = await SqsEmulator.StartAsync(dataDirectory, port);
            using var after = SqsEmulator.CreateClient(port);
            var seen = new HashSet<string>();
            await Eventually.HoldsAsync(
                async () =>
                {
                    var batch = await after.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queueUrl, MaxNumberOfMessages = 10, WaitTimeSeconds = 1 });
                    foreach (var message in batch.Messages ?? [])
                    {
                        seen.Add(message.Body);
                        await after.DeleteMessageAsync(queueUrl, message.ReceiptHandle);
                    }

                    return expected.IsSubsetOf(seen);
                },
                Timeout,
                "every message queued, in flight, released or acknowledged before the stop is received after the restart");
            Assert.That(expected.Except(seen), Is.Empty);
        }
        finally
        {
            if (Directory.Exists(dataDirectory))
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
        }
    }
}
