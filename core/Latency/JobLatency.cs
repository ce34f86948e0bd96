namespace InferenceGateway.Core.Latency;

/// <summary>What a worker records when it ends a job.</summary>
public static class JobLatency
{
    /// <summary>
    /// Records <c>queue:&lt;model&gt;</c> for every job that ran (or was due to), and for a
    /// completed one also <c>execution:</c>, <c>e2e:</c> and, when it paid a cold start, <c>coldStart:</c>.
    /// </summary>
    public static void RecordJobEnd(this LatencyRecorder recorder, string model, bool completed, long queueMs, bool coldStart, double initMs, double executionMs, TimeSpan endToEnd)
    {
        recorder.Record(LatencySeries.Queue(model), queueMs);
        if (!completed)
        {
            return;
        }

        if (coldStart)
        {
            recorder.Record(LatencySeries.ColdStart(model), initMs);
        }

        recorder.Record(LatencySeries.Execution(model), executionMs);
        recorder.Record(LatencySeries.EndToEnd(model), endToEnd);
    }
}
