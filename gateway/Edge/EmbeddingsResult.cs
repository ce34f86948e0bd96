using System.Buffers.Binary;
using System.Text.Json;

namespace InferenceGateway.Gateway.Edge;

/// <summary>
/// OpenAI's embeddings answer, written straight to the response:
/// <c>{"object":"list","data":[{"object":"embedding","index":i,"embedding":[...]}],"model","usage":{"prompt_tokens","total_tokens"}}</c>,
/// each embedding a JSON array of floats or, with <c>base64</c>, the base64 of its little-endian float32 bytes.
/// </summary>
public sealed class EmbeddingsResult(string model, float[][] vectors, long promptTokens, bool base64) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            for (var i = 0; i < vectors.Length; i++)
            {
                json.WriteStartObject();
                json.WriteString("object", "embedding");
                json.WriteNumber("index", i);
                if (base64)
                {
                    json.WriteBase64String("embedding", ToLittleEndianBytes(vectors[i]));
                }
                else
                {
                    json.WriteStartArray("embedding");
                    foreach (var value in vectors[i])
                    {
                        json.WriteNumberValue(value);
                    }

                    json.WriteEndArray();
                }

                json.WriteEndObject();
                if (json.BytesPending > 16 * 1024)
                {
                    await json.FlushAsync(httpContext.RequestAborted);
                }
            }

            json.WriteEndArray();
            json.WriteString("model", model);
            json.WriteStartObject("usage");
            json.WriteNumber("prompt_tokens", promptTokens);
            json.WriteNumber("total_tokens", promptTokens);
            json.WriteEndObject();
            json.WriteEndObject();
            await json.FlushAsync(httpContext.RequestAborted);
        }

        await response.BodyWriter.FlushAsync(httpContext.RequestAborted);
    }

    /// <summary>The vector as float32 bytes, little-endian whatever the machine's order.</summary>
    public static byte[] ToLittleEndianBytes(float[] vector)
    {
        var bytes = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        }

        return bytes;
    }
}
