using InferenceGateway.Contracts;

namespace InferenceGateway.Tests.Delivery;

internal static class Received
{
    /// <summary>What a subscriber received, across all its reconnects, is the log: each event once, in order, the same data.</summary>
    public static void IsTheLog(IReadOnlyList<JobEvent> received, IReadOnlyList<JobEvent> log, string who)
    {
        Assert.That(received.Select(e => e.Seq), Is.EqualTo(log.Select(e => e.Seq)), $"{who}: the sequence numbers received");
        Assert.That(received.Select(e => e.Type), Is.EqualTo(log.Select(e => e.Type)), $"{who}: the event types received");
        Assert.That(received.Select(e => e.At), Is.EqualTo(log.Select(e => e.At)), $"{who}: the event times received");
        Assert.That(received.Select(e => e.Data?.GetRawText()), Is.EqualTo(log.Select(e => e.Data?.GetRawText())), $"{who}: the event data received");
        Assert.That(log.Select(e => e.Seq), Is.EqualTo(Enumerable.Range(1, log.Count).Select(i => (long)i)), "the log itself has no gaps");
        Assert.That(JobEventTypes.IsTerminal(log[^1].Type), Is.True, "the log ends with its terminal event");
    }
}
