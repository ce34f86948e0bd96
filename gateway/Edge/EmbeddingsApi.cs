using System.Diagnostics;
using InferenceGateway.Core.Latency;
using System.Text.Json;
using InferenceGateway.Contracts;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Jobs;
using InferenceGateway.Gateway.Limits;
using InferenceGateway.Gateway.Problems;
using InferenceGateway.Gateway.RateLimiting;
using InferenceGateway.Inference.Hosting;

namespace InferenceGateway.Gateway.Edge;

/// <summary>
/// <c>POST /v1/embeddings</c>, OpenAI-compatible, answered synchronously at the edge by the models
/// in <see cref="EdgeModels"/>: the texts are tokenized with the model's own tokenizer, the
/// tenant's tokens per minute are charged the exact count, and the request runs in-process when
/// its estimated run time fits the model's latency budget. Over budget, the model's
/// <see cref="OverBudgetPolicy"/> queues it as a job (202 with the job's links, as <c>POST /v1/jobs</c>
/// answers; the result is then the job's, in the job format) or refuses it (413). The header
/// <c>X-Inference-Placement</c> says which: <c>edge</c> or <c>queue</c>.
/// </summary>
public static class EmbeddingsApi
{
    public const string PlacementHeader = "X-Inference-Placement";

    public static IEndpointRouteBuilder MapEmbeddingsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/embeddings", EmbedAsync)
            .RequireAuthorization(Scopes.JobsWrite)
            .RequireTenantRateLimit()
            .WithBodyLimit(limits => limits.MaxJobBodyBytes);
        return app;
    }

    private static async Task<IResult> EmbedAsync(
        HttpContext http,
        [AsParameters] EmbeddingsServices services,
        CancellationToken cancellationToken)
    {
        var (json, edge, startup, tokenLimiter, catalog, validator, intake, latency) = services;
        var started = Stopwatch.GetTimestamp();
        var body = await json.ReadAsync<EmbeddingsRequest>(http.Request, cancellationToken);
        if (body.Problem is { } refused)
        {
            return refused;
        }

        var (model, texts, base64, errors) = Validate(body.Value, edge);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The embeddings request is not valid.");
        }

        if (startup.LoadFailure is { } failure)
        {
            http.Response.Headers.RetryAfter = "30";
            return TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Edge Model Unavailable",
                detail: $"The edge model could not be loaded ({failure}); submit the texts with POST /v1/jobs.");
        }

        using var lease = await edge.AcquireAsync(model!.Name, cancellationToken);
        long tokens = 0;
        foreach (var text in texts!)
        {
            tokens += lease.Model.Tokenize(text).Length;
        }

        var estimateMs = model.Edge.EstimateMs(tokens);
        var overBudget = estimateMs > model.Edge.LatencyBudgetMs;
        if (overBudget && model.Edge.OverBudget == OverBudgetPolicy.Refuse)
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status413PayloadTooLarge,
                title: "Over The Edge Latency Budget",
                detail: $"{texts.Count} texts of {tokens} tokens in all are estimated at {estimateMs:F0} ms at the edge; the budget for '{model.Name}' is {model.Edge.LatencyBudgetMs:F0} ms. Send fewer or shorter texts, or submit them as a job with POST /v1/jobs.",
                extensions: new Dictionary<string, object?>
                {
                    ["tokens"] = tokens,
                    ["estimatedMs"] = Math.Round(estimateMs, 1),
                    ["latencyBudgetMs"] = model.Edge.LatencyBudgetMs,
                    ["jobs"] = "/v1/jobs",
                });
        }

        var tenant = http.User.Tenant();
        var plan = http.User.FindFirst(GatewayClaims.Plan)?.Value;
        var charge = await tokenLimiter.TryConsumeAsync(tenant, plan, tokens);
        charge.WriteHeaders(http.Response);
        if (!charge.Allowed)
        {
            return charge.ToProblem(tokens);
        }

        if (overBudget)
        {
            var input = new JobInput { Texts = texts };
            var jobErrors = validator.Validate(model.Name, input, await catalog.GetAsync());
            if (jobErrors.Count > 0)
            {
                await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status413PayloadTooLarge,
                    title: "Over The Edge Latency Budget",
                    detail: $"The request is estimated at {estimateMs:F0} ms, over the edge budget of {model.Edge.LatencyBudgetMs:F0} ms, and cannot be queued: {string.Join(" ", jobErrors.SelectMany(e => e.Value))}",
                    extensions: new Dictionary<string, object?> { ["tokens"] = tokens, ["estimatedMs"] = Math.Round(estimateMs, 1), ["latencyBudgetMs"] = model.Edge.LatencyBudgetMs });
            }

            http.Response.Headers[PlacementHeader] = ModelCatalog.PlacementQueue;
            SubmitResult submitted;
            try
            {
                submitted = await intake.SubmitAsync(http, new NewJob(model.Name, input), estimateQueue: true, cancellationToken);
            }
            catch
            {
                await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
                throw;
            }

            if (submitted.Status != SubmitStatus.Accepted)
            {
                // Not queued (over the active-jobs cap, an Idempotency-Key conflict): nothing will
                // run; or queued before (a replay was charged the first time).
                await tokenLimiter.RefundAsync(tenant, plan, tokens, charge);
            }

            return submitted.ToResult().Result;
        }

        var vectors = await edge.EmbedAsync(lease.Model, texts, cancellationToken);

        // The edge path per model, body read to vectors ready, for the latency audit to hold
        // against the same model's queued path (e2e:<model>).
        latency.Record(LatencySeries.Edge(model.Name), Stopwatch.GetElapsedTime(started));
        http.Response.Headers[PlacementHeader] = ModelCatalog.PlacementEdge;
        return new EmbeddingsResult(model.Name, vectors, tokens, base64);
    }

    /// <summary>What <c>POST /v1/embeddings</c> uses: the edge models, the token limit, and for a request over budget the job checks and submission.</summary>
    internal readonly record struct EmbeddingsServices(
        JsonBodyReader Json,
        EdgeModels Edge,
        EdgeStartup Startup,
        TokenRateLimiter TokenLimiter,
        ModelCatalog Catalog,
        JobValidator Validator,
        JobIntake Intake,
        LatencyRecorder Latency);

    /// <summary>Checks the request against OpenAI's shape and the model's limits; every problem is reported, by field.</summary>
    private static (EdgeModel? Model, IReadOnlyList<string>? Texts, bool Base64, Dictionary<string, string[]> Errors) Validate(EmbeddingsRequest? request, EdgeModels edge)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request is null)
        {
            errors["body"] = ["The body must be a JSON object."];
            return (null, null, false, errors);
        }

        EdgeModel? model = null;
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            errors["model"] = ["'model' is required."];
        }
        else if (!edge.TryGet(request.Model, out model))
        {
            var served = edge.Models.Select(m => m.Name).ToList();
            errors["model"] = [served.Count == 0
                ? "No model is served at the edge on this gateway; submit jobs with POST /v1/jobs."
                : $"Model '{Problem.Truncate(request.Model)}' is not served at the edge (served: {string.Join(", ", served)}); other models take jobs with POST /v1/jobs."];
        }

        var texts = ReadInput(request.Input, model, errors);
        var base64 = false;
        switch (request.EncodingFormat)
        {
            case null or "float":
                break;
            case "base64":
                base64 = true;
                break;
            default:
                errors["encoding_format"] = ["'encoding_format' must be 'float' or 'base64'."];
                break;
        }

        if (request.Dimensions.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null))
        {
            var dimensions = model is null ? (int?)null : model.Model.Dimensions;
            if (request.Dimensions.ValueKind != JsonValueKind.Number || !request.Dimensions.TryGetInt32(out var asked) || asked < 1)
            {
                errors["dimensions"] = ["'dimensions' must be a positive integer."];
            }
            else if (dimensions is { } own && asked != own)
            {
                errors["dimensions"] = [$"'{model!.Name}' gives {own} dimensions and cannot shorten its embeddings; leave 'dimensions' out or send {own}."];
            }
        }

        if (request.User.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null)
            && (request.User.ValueKind != JsonValueKind.String || request.User.GetString()!.Length > 256))
        {
            errors["user"] = ["'user' must be a string of at most 256 characters."];
        }

        return (model, texts, base64, errors);
    }

    private static List<string>? ReadInput(JsonElement input, EdgeModel? model, Dictionary<string, string[]> errors)
    {
        var maxTexts = model?.Model.MaxTexts ?? int.MaxValue;
        var maxLength = model?.Model.MaxTextLength ?? int.MaxValue;
        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                var single = input.GetString()!;
                return TextProblem(single, "input", maxLength) is { } problem ? Fail(errors, "input", [problem]) : [single];
            case JsonValueKind.Array:
                var count = input.GetArrayLength();
                if (count == 0)
                {
                    return Fail(errors, "input", ["'input' must be a non-empty string or array of strings."]);
                }

                if (count > maxTexts)
                {
                    return Fail(errors, "input", [$"At most {maxTexts} texts per request; got {count}."]);
                }

                var texts = new List<string>(count);
                var problems = new List<string>();
                var index = 0;
                foreach (var item in input.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String)
                    {
                        var text = item.GetString()!;
                        if (TextProblem(text, $"input[{index}]", maxLength) is { } textProblem)
                        {
                            problems.Add(textProblem);
                        }

                        texts.Add(text);
                    }
                    else if (item.ValueKind is JsonValueKind.Number or JsonValueKind.Array)
                    {
                        return Fail(errors, "input", ["Token arrays are not accepted: this gateway's models have their own vocabularies. Send the text as a string or an array of strings."]);
                    }
                    else
                    {
                        problems.Add($"input[{index}] must be a string; got {item.ValueKind.ToString().ToLowerInvariant()}.");
                    }

                    index++;
                    if (problems.Count >= 5)
                    {
                        break;
                    }
                }

                return problems.Count > 0 ? Fail(errors, "input", [.. problems]) : texts;
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return Fail(errors, "input", ["'input' is required: a string or an array of strings."]);
            default:
                return Fail(errors, "input", [$"'input' must be a string or an array of strings; got {input.ValueKind.ToString().ToLowerInvariant()}."]);
        }
    }

    private static string? TextProblem(string text, string name, int maxLength) =>
        string.IsNullOrWhiteSpace(text) ? $"{name} is empty."
        : text.Length > maxLength ? $"{name} has {text.Length} characters; the limit is {maxLength}."
        : text.Contains('\0', StringComparison.Ordinal) ? $"{name} contains a NUL character."
        : null;

    private static List<string>? Fail(Dictionary<string, string[]> errors, string field, string[] problems)
    {
        errors[field] = problems;
        return null;
    }
}
