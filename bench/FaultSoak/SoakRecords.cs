using System.Collections.Concurrent;

namespace InferenceGateway.FaultSoak;

/// <summary>What the soak's options ask for.</summary>
internal sealed record SoakOptions(TimeSpan Duration, int Jobs, int Seed, int Faults, bool Short, IReadOnlyList<string> Kinds, TimeSpan Drain, bool KeepData)
{
    /// <summary>How long the load runs before the first fault; the RSS baseline is read over its second half.</summary>
    public TimeSpan WarmUp => Short ? TimeSpan.FromSeconds(40) : TimeSpan.FromSeconds(60);
}

/// <summary>The fault kinds the injector applies.</summary>
internal static class FaultKinds
{
    public const string GatewayKill = "gateway-kill";
    public const string WorkerKill = "worker-kill";
    public const string WorkerStop = "worker-stop";
    public const string EmulatorRestart = "emulator-restart";
    public const string RedisRestart = "redis-restart";
    public const string RedisPause = "redis-pause";

    public static readonly string[] All = [GatewayKill, WorkerKill, WorkerStop, EmulatorRestart, RedisRestart, RedisPause];

    public static string Describe(string kind) => kind switch
    {
        GatewayKill => "SIGKILL a gateway, start it again",
        WorkerKill => "SIGKILL a worker mid-job, start it again",
        WorkerStop => $"SIGSTOP a worker for {SoakStack.VisibilitySeconds + 4} s (past the {SoakStack.VisibilitySeconds} s visibility timeout), SIGCONT",
        EmulatorRestart => "SIGTERM the emulator, start it again on its data",
        RedisRestart => "SIGTERM or SIGKILL Redis, start it again on its AOF",
        RedisPause => "SIGSTOP Redis for 5 s, SIGCONT",
        _ => kind,
    };
}

/// <summary>The random choices for one job, all drawn up front from the seeded generator.</summary>
internal sealed record JobPlan(
    int Index,
    string Kind,
    int Texts,
    bool Stream,
    int MaxTokens,
    bool Webhook,
    string? Subscriber,
    int[] DropAfter,
    int CancelAfterMs,
    int Gateway);

/// <summary>One job the stack answered <c>202</c> (or, for a chat stream, <c>200</c> with its job id) for.</summary>
internal sealed class JobEntry(string id, JobPlan plan, string tenant, string key, DateTimeOffset acceptedAt)
{
    public string Id { get; } = id;

    public JobPlan Plan { get; } = plan;

    public string Tenant { get; } = tenant;

    public string Key { get; } = key;

    public DateTimeOffset AcceptedAt { get; } = acceptedAt;

    /// <summary>Every job id the gateways answered for this job's Idempotency-Key (one, unless a retry made a second job).</summary>
    public ConcurrentBag<string> AnsweredIds { get; } = [];

    public bool CancelSent { get; set; }

    /// <summary>Last status read from <c>GET /v1/jobs/{id}</c> (null before any; "404" when unknown).</summary>
    public string? Status { get; set; }
}

/// <summary>What one subscriber (SSE or hub) saw of its job across its reconnects.</summary>
internal sealed class SubscriberLog(string jobId, string channel)
{
    public string JobId { get; } = jobId;

    public string Channel { get; } = channel;

    public List<long> Seqs { get; } = [];

    public List<string> Types { get; } = [];

    /// <summary>Connections after the first: planned drops and those a fault broke.</summary>
    public int Reconnects { get; set; }

    public int PlannedDrops { get; set; }

    public bool Finished { get; set; }

    public string? LastError { get; set; }
}

/// <summary>One webhook request the receiver answered.</summary>
internal sealed record WebhookHit(string WebhookId, string JobId, long Seq, string EventType, int Status, DateTimeOffset At);

/// <summary>One fault the injector applied and how long the stack took to come back.</summary>
internal sealed record FaultRecord(string Kind, string Target, TimeSpan At, string Detail)
{
    /// <summary>From the injection to the first <c>202</c> of a probe job submitted at the injection (null: never within the bound).</summary>
    public TimeSpan? AcceptedAfter { get; set; }

    /// <summary>From the injection to that probe job's terminal event (null: not within the bound).</summary>
    public TimeSpan? DoneAfter { get; set; }
}
