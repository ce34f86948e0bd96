using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.Limits;
using InferenceGateway.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Admin;

/// <summary><c>/admin/keys</c> (admin scope): create (the key is shown only in that answer), list, revoke.</summary>
public static class KeysAdminApi
{
    public static IEndpointRouteBuilder MapKeysAdminApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/admin/keys").RequireAuthorization(Scopes.Admin).RequireTenantRateLimit();
        keys.MapPost("/", CreateAsync).WithBodyLimit(limits => limits.MaxAdminBodyBytes);
        keys.MapGet("/", ListAsync);
        keys.MapDelete("/{id}", RevokeAsync);
        return app;
    }

    private static async Task<Results<Created<ApiKeyCreated>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        HttpContext http, JsonBodyReader json, ApiKeyStore store, IOptionsMonitor<RateLimitOptions> rateLimits, TimeProvider time, CancellationToken cancellationToken)
    {
        var body = await json.ReadAsync<CreateKeyRequest>(http.Request, cancellationToken);
        if (body.Problem is { } refused)
        {
            return refused;
        }

        var request = body.Value;
        if (request is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON", detail: "The body must be a JSON object.");
        }

        var newKey = new NewApiKey(
            request.Tenant ?? string.Empty,
            request.Name ?? "admin",
            request.Scopes ?? [Scopes.JobsRead, Scopes.JobsWrite],
            request.Plan,
            request.ExpiresAt);
        var errors = ApiKeyValidation.Validate(newKey, rateLimits.CurrentValue.Plans.Keys);
        if (request.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            errors["expiresAt"] = ["'expiresAt' must be in the future."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The key request is not valid.");
        }

        var created = await store.CreateAsync(newKey);
        return TypedResults.Created($"/admin/keys/{created.Details.Id}", ApiKeyCreated.From(created));
    }

    private static async Task<Ok<ApiKeyList>> ListAsync(string? tenant, ApiKeyStore store) =>
        TypedResults.Ok(new ApiKeyList([.. (await store.ListAsync(tenant)).Select(ApiKeyView.From)]));

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(string id, ApiKeyStore store) =>
        id.Length <= 64 && await store.RevokeAsync(id)
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not Found", detail: "There is no such key.");
}

/// <summary>The body of <c>POST /admin/keys</c>.</summary>
public sealed record CreateKeyRequest(string? Tenant, string? Name, IReadOnlyList<string>? Scopes, string? Plan, DateTimeOffset? ExpiresAt);

/// <summary>A key as listed: never its secret.</summary>
public sealed record ApiKeyView(string Id, string Tenant, string Name, IReadOnlyList<string> Scopes, string? Plan, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt)
{
    public static ApiKeyView From(ApiKey key) => new(key.Id, key.Tenant, key.Name, key.Scopes, key.Plan, key.CreatedAt, key.ExpiresAt);
}

/// <summary>A new key: the only answer that carries the secret.</summary>
public sealed record ApiKeyCreated(string Id, string Key, string Tenant, string Name, IReadOnlyList<string> Scopes, string? Plan, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt)
{
    public static ApiKeyCreated From(CreatedApiKey created) =>
        new(created.Details.Id, created.Key, created.Details.Tenant, created.Details.Name, created.Details.Scopes, created.Details.Plan, created.Details.CreatedAt, created.Details.ExpiresAt);
}

/// <summary>The answer to <c>GET /admin/keys</c>.</summary>
public sealed record ApiKeyList(IReadOnlyList<ApiKeyView> Data);
