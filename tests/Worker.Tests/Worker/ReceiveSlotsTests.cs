using InferenceGateway.Worker.Queue;

namespace InferenceGateway.Tests.Worker;

/// <summary>How many messages the event source asks for, and when: a whole receive's worth in a worker sized for batching, what is free in a small one.</summary>
[TestFixture]
public sealed class ReceiveSlotsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task SizedForBatching_AReceiveWaitsForAWholeReceivesWorthOfSlots()
    {
        using var slots = new ReceiveSlots(maxConcurrency: 128, maxMessages: 10);
        await TakeAsync(slots, 120);

        var take = slots.TakeAsync(CancellationToken.None);
        Assert.That(take.IsCompleted, Is.False, "8 are free: wait for 10");
        slots.Release();
        Assert.That(take.IsCompleted, Is.False, "9");
        slots.Release();
        Assert.That(await take.WaitAsync(Timeout), Is.EqualTo(10));
        Assert.That(slots.Taken, Is.EqualTo(128), "never more than the slots");
    }

    [Test]
    public async Task AnIdleWorker_ReceivesAWholeReceivesWorth_AtOnce()
    {
        using var slots = new ReceiveSlots(maxConcurrency: 128, maxMessages: 10);

        var take = slots.TakeAsync(CancellationToken.None);

        Assert.That(take.IsCompletedSuccessfully, Is.True);
        Assert.That(await take, Is.EqualTo(10));
    }

    [Test]
    public async Task ASmallWorker_ReceivesAsSoonAsOneSlotIsFree()
    {
        // Four long jobs at once: a slot must not idle until two more jobs end.
        using var slots = new ReceiveSlots(maxConcurrency: 4, maxMessages: 10);
        Assert.That(await slots.TakeAsync(CancellationToken.None).WaitAsync(Timeout), Is.EqualTo(4));

        var take = slots.TakeAsync(CancellationToken.None);
        Assert.That(take.IsCompleted, Is.False, "all four in hand");
        slots.Release();
        Assert.That(await take.WaitAsync(Timeout), Is.EqualTo(1));
    }

    [Test]
    public async Task JustUnderTheBatchingSize_ReceivesWhatIsFree()
    {
        using var slots = new ReceiveSlots(maxConcurrency: (ReceiveSlots.BatchingSizeFactor * 10) - 1, maxMessages: 10);
        await TakeAsync(slots, 36);

        Assert.That(await slots.TakeAsync(CancellationToken.None).WaitAsync(Timeout), Is.EqualTo(3));
    }

    [Test]
    public async Task ACancelledTake_GivesBackWhatItGathered()
    {
        using var slots = new ReceiveSlots(maxConcurrency: 128, maxMessages: 10);
        await TakeAsync(slots, 120);
        using var stop = new CancellationTokenSource();

        var take = slots.TakeAsync(stop.Token);
        Assert.That(slots.Taken, Is.EqualTo(128), "it holds the 8 free while it waits");
        await stop.CancelAsync();

        Assert.CatchAsync<OperationCanceledException>(() => take.WaitAsync(Timeout));
        Assert.That(slots.Taken, Is.EqualTo(120));
    }

    /// <summary>Takes slots, as receives that each filled what they took, until <paramref name="count"/> are taken.</summary>
    private static async Task TakeAsync(ReceiveSlots slots, int count)
    {
        while (slots.Taken < count)
        {
            await slots.TakeAsync(CancellationToken.None).WaitAsync(Timeout);
            if (slots.Taken > count)
            {
                slots.Release(slots.Taken - count);
            }
        }
    }
}
