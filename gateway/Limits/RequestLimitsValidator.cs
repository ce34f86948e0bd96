using Microsoft.Extensions.Options;

namespace InferenceGateway.Gateway.Limits;

/// <summary>The checks across settings that attributes cannot express; every failure is reported at once.</summary>
public sealed class RequestLimitsValidator : IValidateOptions<RequestLimits>
{
    public ValidateOptionsResult Validate(string? name, RequestLimits options)
    {
        var failures = new List<string>();
        if (options.MaxHeaderBytes > options.MaxHeadersTotalBytes)
        {
            failures.Add($"RequestLimits:MaxHeaderBytes ({options.MaxHeaderBytes}) must not exceed RequestLimits:MaxHeadersTotalBytes ({options.MaxHeadersTotalBytes}).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
