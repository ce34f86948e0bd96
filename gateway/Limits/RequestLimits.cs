using System.ComponentModel.DataAnnotations;

namespace InferenceGateway.Gateway.Limits;

/// <summary>
/// What one request may carry before the gateway refuses it, with a problem+json answer. Section
/// <c>RequestLimits</c>. Kestrel's own limits are raised above these (see
/// <see cref="RequestLimitsExtensions"/>) so that the gateway, not Kestrel's empty-bodied 414/431,
/// gives the answer.
/// </summary>
public sealed record RequestLimits
{
    public const string Section = "RequestLimits";

    /// <summary>The request target (path and query, as sent); longer is 414.</summary>
    [Range(1024, 64 * 1024)]
    public int MaxUrlBytes { get; init; } = 8 * 1024;

    /// <summary>One header, name and value; longer is 431.</summary>
    [Range(1024, 32 * 1024)]
    public int MaxHeaderBytes { get; init; } = 8 * 1024;

    /// <summary>All headers together, names and values; more is 431.</summary>
    [Range(1024, 64 * 1024)]
    public int MaxHeadersTotalBytes { get; init; } = 16 * 1024;

    /// <summary>Header lines; more is 431.</summary>
    [Range(8, 1000)]
    public int MaxHeaderCount { get; init; } = 100;

    /// <summary>The body of a route that declares no limit of its own (proxied routes included, unless their YARP route sets one); more is 413.</summary>
    [Range(0, 1024L * 1024 * 1024)]
    public long MaxBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>The body of <c>POST /v1/jobs</c>.</summary>
    [Range(1024, 1024L * 1024 * 1024)]
    public long MaxJobBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>The body of <c>POST /admin/keys</c>.</summary>
    [Range(1024, 1024L * 1024 * 1024)]
    public long MaxAdminBodyBytes { get; init; } = 64 * 1024;

    /// <summary>Nesting of arrays and objects in a JSON body, anywhere in it (ignored properties too); deeper is 400.</summary>
    [Range(4, 256)]
    public int MaxJsonDepth { get; init; } = 32;
}
