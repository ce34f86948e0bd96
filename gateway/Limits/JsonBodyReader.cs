using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Limits;

/// <summary>
/// Reads a JSON request body strictly: only a JSON content type (415 otherwise), UTF-8 or a charset
/// .NET knows (415 otherwise), nesting at most <see cref="RequestLimits.MaxJsonDepth"/>, no
/// duplicate properties, and never an exception for bytes that are not valid UTF-8 or JSON: every
/// refusal is a problem the endpoint returns as it is.
/// </summary>
public sealed class JsonBodyReader
{
    private readonly JsonSerializerOptions _options;

    /// <param name="limits">The nesting limit.</param>
    /// <param name="json">The HTTP API's JSON settings, whose resolvers (the host's source-generated contexts) read the bodies.</param>
    public JsonBodyReader(IOptions<RequestLimits> limits, IOptions<JsonOptions> json)
    {
        _options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            MaxDepth = limits.Value.MaxJsonDepth,
            AllowDuplicateProperties = false,
            TypeInfoResolver = json.Value.SerializerOptions.TypeInfoResolver,
        };
        _options.MakeReadOnly();
    }

    /// <summary>The body as <typeparamref name="T"/> (null for a JSON <c>null</c>), or the problem to answer with.</summary>
    public async Task<JsonBody<T>> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            return new(null, TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported Media Type",
                detail: "Send the body as 'Content-Type: application/json'."));
        }

        try
        {
            var typeInfo = (JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T));
            return new(await request.ReadFromJsonAsync(typeInfo, cancellationToken), null);
        }
        catch (InvalidOperationException ex) when (ex.InnerException is ArgumentException || ex.Message.Contains("charset", StringComparison.OrdinalIgnoreCase))
        {
            return new(null, TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported Media Type",
                detail: "The body's charset is not supported; send UTF-8 JSON."));
        }
        catch (JsonException ex)
        {
            var at = ex.LineNumber is { } line && ex.BytePositionInLine is { } column
                ? $" at {ex.Path ?? "$"} (line {line + 1}, byte {column + 1})"
                : string.Empty;
            return new(null, Malformed(
                $"The body is not valid JSON for this request{at}. It must be UTF-8 JSON with no duplicate properties, nested at most {_options.MaxDepth} deep, with values of the documented types."));
        }
        catch (DecoderFallbackException)
        {
            return new(null, Malformed("The body's bytes are not valid in its charset."));
        }
    }

    private static ProblemHttpResult Malformed(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON", detail: detail);
}

/// <summary>A JSON body as read: the value, or the problem that refused it.</summary>
public sealed record JsonBody<T>(T? Value, ProblemHttpResult? Problem)
    where T : class;
