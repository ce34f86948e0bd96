using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using InferenceGateway.Contracts;
using InferenceGateway.Core.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace InferenceGateway.Gateway.Jobs;

/// <summary>
/// What every way of submitting a job shares (<c>POST /v1/jobs</c> and <c>async</c> proxy routes):
/// reading the JSON body, validating a model and its input against the catalog, and the 202 answer.
/// </summary>
public static class JobRequests
{
    /// <summary>Reads a JSON body; a wrong content type or charset is a 415, malformed JSON a 400.</summary>
    public static async Task<JsonBody<T>> ReadJsonAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return new(default, TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported Media Type",
                detail: "Send the job as 'Content-Type: application/json'."));
        }

        try
        {
            return new(await request.ReadFromJsonAsync(typeInfo, cancellationToken), null);
        }
        catch (InvalidOperationException ex) when (ex.InnerException is ArgumentException || ex.Message.Contains("charset", StringComparison.OrdinalIgnoreCase))
        {
            return new(default, TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported Media Type",
                detail: "The body's charset is not supported; send UTF-8 JSON."));
        }
        catch (JsonException ex)
        {
            return new(default, TypedResults.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Malformed JSON",
                detail: $"The body is not valid JSON for a job{(ex.Path is null ? string.Empty : $" (at {ex.Path})")}."));
        }
    }

    /// <summary>
    /// Checks a job's model and input against the catalog. Keys of the returned map name the fields
    /// as the caller sent them: <paramref name="inputPath"/> is where the input sits in the body
    /// (<c>input</c> for <c>POST /v1/jobs</c>, empty when the body is the input itself).
    /// </summary>
    public static Dictionary<string, string[]> Validate(string? model, JobInput? input, ModelCatalogOptions catalog, string inputPath = "input")
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        ModelLimits? limits = null;
        if (string.IsNullOrWhiteSpace(model))
        {
            errors["model"] = ["'model' is required."];
        }
        else if (!catalog.Served.TryGetValue(model, out limits))
        {
            errors["model"] = [$"Unknown model '{JobsApi.Truncate(model)}'. Served: {string.Join(", ", catalog.Served.Keys)}."];
        }

        var textsKey = inputPath.Length == 0 ? "texts" : inputPath + ".texts";
        var texts = input?.Texts;
        if (texts is null || texts.Count == 0)
        {
            errors[textsKey] = [$"'{textsKey}' must be a non-empty array of strings."];
        }
        else if (limits is not null)
        {
            var problems = new List<string>();
            if (texts.Count > limits.MaxTexts)
            {
                problems.Add($"At most {limits.MaxTexts} texts per job; got {texts.Count}.");
            }

            for (var i = 0; i < texts.Count && problems.Count < 5; i++)
            {
                if (string.IsNullOrWhiteSpace(texts[i]))
                {
                    problems.Add($"Text {i} is empty.");
                }
                else if (texts[i].Length > limits.MaxTextLength)
                {
                    problems.Add($"Text {i} has {texts[i].Length} characters; the limit is {limits.MaxTextLength}.");
                }
            }

            if (problems.Count > 0)
            {
                errors[textsKey] = [.. problems];
            }
        }

        return errors;
    }

    /// <summary>The 202 for an accepted job, with its links and <c>Location</c>.</summary>
    public static Accepted<JobAccepted> Accepted(JobRecord job)
    {
        var links = new JobLinks($"/v1/jobs/{job.Id}", $"/v1/jobs/{job.Id}/events", "/hubs/jobs");
        return TypedResults.Accepted(links.Self, new JobAccepted(job.Id, job.Status, job.CreatedAt, links));
    }
}

/// <summary>A JSON body as read: the value, or the problem to answer instead.</summary>
public readonly record struct JsonBody<T>(T? Value, ProblemHttpResult? Problem);
