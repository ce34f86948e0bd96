using System.Text.Encodings.Web;
using System.Text.Json;

namespace InferenceGateway.Contracts;

/// <summary>
/// How a job message body and a stored job input are written: the contracts' JSON
/// (<see cref="ContractsJsonContext"/>) with only the escapes JSON needs. The default encoder writes
/// <c>&lt;&gt;&amp;'"+</c>, <c>`</c> and every non-ASCII character as a 6-byte <c>\uXXXX</c>, which made a
/// 250 KB body of <c>&lt;</c> a 1.5 MB message; here they are written as themselves. Control
/// characters, lone surrogates, noncharacters and characters outside the Basic Multilingual Plane
/// are still escaped, so a body holds only characters SQS accepts (#x9, #xA, #xD, #x20-#xD7FF,
/// #xE000-#xFFFD; the emulator refuses #x10000 and above too). For the queue only: what is served
/// to browsers keeps the default encoder.
/// </summary>
public static class JobMessageJson
{
    private static readonly ContractsJsonContext Relaxed = new(new JsonSerializerOptions(ContractsJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>The message body of <paramref name="message"/>.</summary>
    public static string Serialize(JobMessage message) => JsonSerializer.Serialize(message, Relaxed.JobMessage);

    /// <summary>A job input as UTF-8 JSON, as a message would carry it (what a claim check stores).</summary>
    public static byte[] SerializeInput(JobInput input) => JsonSerializer.SerializeToUtf8Bytes(input, Relaxed.JobInput);

    /// <summary>Reads a message body; null for the JSON <c>null</c>. Throws <see cref="JsonException"/> for anything else that is not a job message.</summary>
    public static JobMessage? Deserialize(string body) => JsonSerializer.Deserialize(body, ContractsJsonContext.Default.JobMessage);

    /// <summary>Reads a stored input (<see cref="SerializeInput"/>).</summary>
    public static JobInput? DeserializeInput(ReadOnlySpan<byte> json) => JsonSerializer.Deserialize(json, ContractsJsonContext.Default.JobInput);
}
