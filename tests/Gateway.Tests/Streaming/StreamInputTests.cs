using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Jobs;

namespace InferenceGateway.Tests.Streaming;

/// <summary><c>input.stream</c> extends the contract without changing what existed: a job that does not stream serialises, and fingerprints, as before.</summary>
[TestFixture]
public sealed class StreamInputTests
{
    [Test]
    public void StreamFalse_IsLeftOutOfTheJson_AndTrueIsWritten()
    {
        Assert.That(JsonSerializer.Serialize(new JobInput { Texts = ["a"] }, ContractsJsonContext.Default.JobInput), Is.EqualTo("""{"texts":["a"]}"""));
        Assert.That(JsonSerializer.Serialize(new JobInput { Texts = ["a"], Stream = true }, ContractsJsonContext.Default.JobInput), Is.EqualTo("""{"texts":["a"],"stream":true}"""));
        Assert.That(JsonSerializer.Deserialize("""{"texts":["a"],"stream":true}""", ContractsJsonContext.Default.JobInput)!.Stream, Is.True);
    }

    [Test]
    public void IdempotencyFingerprint_IsUnchangedWithoutStream_AndDiffersWithIt()
    {
        static string Fingerprint(JobInput input) => JobSubmitter.Fingerprint(new JobSubmission("tenant", "all-minilm-l6-v2", input, "key", 0));

        var plain = Fingerprint(new JobInput { Texts = ["a"] });

        Assert.That(plain, Is.EqualTo(JobSubmitter.Hash("all-minilm-l6-v2\n" + """{"texts":["a"]}""")), "as before input.stream existed");
        Assert.That(Fingerprint(new JobInput { Texts = ["a"], Stream = false }), Is.EqualTo(plain));
        Assert.That(Fingerprint(new JobInput { Texts = ["a"], Stream = true }), Is.Not.EqualTo(plain), "the same key with stream:true is another request (422)");
    }
}
