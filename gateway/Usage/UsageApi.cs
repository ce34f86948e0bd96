using System.Globalization;
using InferenceGateway.Core.Jobs;
using InferenceGateway.Gateway.Auth;
using InferenceGateway.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;

namespace InferenceGateway.Gateway.Usage;

/// <summary>
/// What a tenant's jobs cost, as the worker counted it when each job ended: <c>GET /v1/usage</c>
/// for the caller's own tenant (jobs:read) and <c>GET /admin/usage/{tenant}</c> for any tenant
/// (admin). <c>?days=N</c> (1-90, default 7) picks how many UTC days, today included, to list.
/// </summary>
public static class UsageApi
{
    public const int DefaultDays = 7;
    public const int MaxDays = 90;

    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/usage", OwnAsync).RequireAuthorization(Scopes.JobsRead).RequireTenantRateLimit();
        app.MapGet("/admin/usage/{tenant}", TenantAsync).RequireAuthorization(Scopes.Admin).RequireTenantRateLimit();
        return app;
    }

    private static Task<Results<Ok<UsageView>, ValidationProblem>> OwnAsync(string? days, HttpContext http, UsageReader usage) =>
        ReadAsync(http.User.Tenant(), days, usage);

    private static async Task<Results<Ok<UsageView>, ValidationProblem, ProblemHttpResult>> TenantAsync(string tenant, string? days, UsageReader usage)
    {
        if (!ApiKeyValidation.IsTenant(tenant))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Not Found",
                detail: "There is no such tenant: a tenant is 1-64 letters, digits, '.', '_' or '-'.");
        }

        return await ReadAsync(tenant, days, usage) switch
        {
            { Result: Ok<UsageView> ok } => ok,
            { Result: ValidationProblem problem } => problem,
            _ => throw new InvalidOperationException("Unexpected usage result."),
        };
    }

    private static async Task<Results<Ok<UsageView>, ValidationProblem>> ReadAsync(string tenant, string? days, UsageReader usage)
    {
        var count = DefaultDays;
        if (days is not null
            && (!int.TryParse(days, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1 || count > MaxDays))
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["days"] = [$"'days' must be a whole number from 1 to {MaxDays}."] },
                title: "The usage query is not valid.");
        }

        return TypedResults.Ok(UsageView.From(await usage.GetAsync(tenant, count), count));
    }
}

/// <summary>
/// The answer to a usage query. <c>total</c> is the tenant's running totals since its first billed
/// job; <c>period</c> sums the <c>days</c> listed in <c>daily</c> (days without usage are left out).
/// </summary>
public sealed record UsageView(string Tenant, int Days, UsageCounters Total, UsageCounters Period, IReadOnlyList<UsageDay> Daily)
{
    public static UsageView From(TenantUsage usage, int days)
    {
        var daily = usage.Days.OrderBy(d => d.Date, StringComparer.Ordinal).Select(d => new UsageDay(d.Date, UsageCounters.From(d.Usage))).ToList();
        return new UsageView(usage.Tenant, days, UsageCounters.From(usage.Total), UsageCounters.Sum(daily.Select(d => d.Usage)), daily);
    }
}

/// <summary>One UTC day (<c>yyyy-MM-dd</c>) of usage.</summary>
public sealed record UsageDay(string Date, UsageCounters Usage);

/// <summary>Invocations and what they cost, in total, by terminal status and by model.</summary>
public sealed record UsageCounters(
    long Invocations,
    long BilledMs,
    long InitMs,
    long ExecutionMs,
    long ColdStarts,
    long Texts,
    IReadOnlyDictionary<string, long> ByStatus,
    IReadOnlyDictionary<string, ModelUsageCounters> ByModel)
{
    public static UsageCounters From(UsageSummary summary) => new(
        summary.Invocations,
        summary.BilledMs,
        summary.InitMs,
        summary.ExecutionMs,
        summary.ColdStarts,
        summary.Texts,
        new SortedDictionary<string, long>(summary.ByStatus.ToDictionary(), StringComparer.Ordinal),
        new SortedDictionary<string, ModelUsageCounters>(summary.ByModel.ToDictionary(m => m.Key, m => new ModelUsageCounters(m.Value.Invocations, m.Value.BilledMs)), StringComparer.Ordinal));

    public static UsageCounters Sum(IEnumerable<UsageCounters> all)
    {
        long invocations = 0, billed = 0, init = 0, execution = 0, cold = 0, texts = 0;
        var byStatus = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byModel = new SortedDictionary<string, ModelUsageCounters>(StringComparer.Ordinal);
        foreach (var c in all)
        {
            invocations += c.Invocations;
            billed += c.BilledMs;
            init += c.InitMs;
            execution += c.ExecutionMs;
            cold += c.ColdStarts;
            texts += c.Texts;
            foreach (var (status, n) in c.ByStatus)
            {
                byStatus[status] = byStatus.GetValueOrDefault(status) + n;
            }

            foreach (var (model, m) in c.ByModel)
            {
                var current = byModel.GetValueOrDefault(model) ?? new ModelUsageCounters(0, 0);
                byModel[model] = new ModelUsageCounters(current.Invocations + m.Invocations, current.BilledMs + m.BilledMs);
            }
        }

        return new UsageCounters(invocations, billed, init, execution, cold, texts, byStatus, byModel);
    }
}

/// <summary>Usage of one model.</summary>
public sealed record ModelUsageCounters(long Invocations, long BilledMs);
