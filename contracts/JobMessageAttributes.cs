namespace InferenceGateway.Contracts;

/// <summary>Names of the SQS message attributes a job message carries beside its body.</summary>
public static class JobMessageAttributes
{
    public const string JobId = "job-id";
    public const string Tenant = "tenant";
    public const string TraceParent = "traceparent";
    public const string SchemaVersion = "schema-version";
}
