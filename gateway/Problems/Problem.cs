using Microsoft.AspNetCore.Mvc;

namespace InferenceGateway.Gateway.Problems;

/// <summary>RFC 9457 problem details written outside endpoint results (middleware, auth).</summary>
public static class Problem
{
    /// <summary>A caller's value as a problem's detail quotes it: at most 64 characters, then an ellipsis.</summary>
    public static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";

    public static async Task Write(HttpContext context, int status, string title, string detail)
    {
        var writer = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        context.Response.StatusCode = status;
        await writer.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}
