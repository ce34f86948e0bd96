using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using InferenceGateway.Contracts;

namespace InferenceGateway.Tests.Jobs;

/// <summary>
/// The queue's JSON (<see cref="JobMessageJson"/>): no needless escapes, yet only characters an SQS
/// body may hold (#x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF; the emulator takes
/// the Basic Multilingual Plane only, so characters above it stay escaped). Pure: no Redis, no queue.
/// </summary>
[TestFixture]
public sealed class JobMessageJsonTests
{
    [Test]
    public void Serialize_EveryCodePoint_WritesOnlyCharactersSqsAccepts_AndReadsBackTheSameTexts()
    {
        var texts = new List<string>();
        var text = new StringBuilder();
        for (var codePoint = 0; codePoint <= 0x10FFFF; codePoint++)
        {
            if (codePoint is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            text.Append(char.ConvertFromUtf32(codePoint));
            if (text.Length >= 4096)
            {
                texts.Add(text.ToString());
                text.Clear();
            }
        }

        texts.Add(text.ToString());
        texts.Add("lone \uD800 high, lone \uDC00 low");
        var message = Message(new JobInput { Texts = texts });

        var body = JobMessageJson.Serialize(message);

        var refused = body.Where(c => !(c is '\t' or '\n' or '\r' || c is >= '\x20' and <= '\uD7FF' || c is >= '\uE000' and <= '\uFFFD')).ToList();
        Assert.That(refused, Is.Empty, $"characters SQS (or the emulator) refuses: {string.Join(", ", refused.Distinct().Take(20).Select(c => $"U+{(int)c:X4}"))}");
        var read = JobMessageJson.Deserialize(body)!;
        Assert.That(read.Input.Texts!.Take(texts.Count - 1), Is.EqualTo(texts.Take(texts.Count - 1)), "every valid character reads back as itself");
    }

    [Test]
    public void Serialize_AMessageWithoutAReference_IsWhatTheDefaultEncoderWrites_WithoutItsNeedlessEscapes()
    {
        var plain = Message(new JobInput { Texts = ["plain ascii text"] });
        var marked = Message(new JobInput { Texts = ["<b>café & \"quotes\" 'x' + `y` 日本</b>"] });

        var before = JsonSerializer.Serialize(marked, ContractsJsonContext.Default.JobMessage);
        var after = JobMessageJson.Serialize(marked);

        Assert.That(JobMessageJson.Serialize(plain), Is.EqualTo(JsonSerializer.Serialize(plain, ContractsJsonContext.Default.JobMessage)), "byte for byte, where nothing needed escaping");
        Assert.That(after, Does.Contain("<b>café & \\\"quotes\\\" 'x' + `y` 日本</b>"));
        Assert.That(Encoding.UTF8.GetByteCount(after), Is.LessThan(Encoding.UTF8.GetByteCount(before)));
        Assert.That(JsonNode.DeepEquals(JsonNode.Parse(after), JsonNode.Parse(before)), Is.True, "the same JSON, escapes apart");
        Assert.That(after, Does.Not.Contain("inputRef"));
    }

    private static JobMessage Message(JobInput input) => new()
    {
        SchemaVersion = JobMessage.CurrentSchemaVersion,
        JobId = "job_0123456789abcdef0123456789abcdef",
        Tenant = "tenant",
        Model = "all-minilm-l6-v2",
        Input = input,
        CreatedAt = new DateTimeOffset(2026, 12, 6, 4, 30, 0, TimeSpan.Zero),
        ExecutionTimeoutMs = 5000,
        ExpiresAt = new DateTimeOffset(2026, 12, 6, 5, 30, 0, TimeSpan.Zero),
    };
}
