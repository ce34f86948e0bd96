namespace InferenceGateway.Worker.Queue;

/// <summary>
/// The event source's slots: one per message in hand, at most <c>maxConcurrency</c>. Before each
/// receive it takes the slots the receive may fill (up to <c>maxMessages</c>). A receive costs the
/// worker and the queue about the same for one message as for ten, so a worker sized for batching
/// (<c>maxConcurrency</c> at least <see cref="BatchingSizeFactor"/> receives' worth) always waits
/// until a whole receive's worth of slots is free, rather than polling for the few that one
/// finished job gave back: while it waits it still holds more than three quarters of its slots'
/// worth of messages, which keeps the model busy. A smaller worker (a few long jobs at once)
/// receives as soon as one slot is free, so no slot idles behind a long job.
/// </summary>
public sealed class ReceiveSlots : IDisposable
{
    /// <summary>How many receives' worth of slots make a worker sized for batching.</summary>
    public const int BatchingSizeFactor = 4;

    private readonly SemaphoreSlim _slots;
    private readonly int _maxConcurrency;
    private readonly int _maxMessages;
    private readonly int _leastPerReceive;

    public ReceiveSlots(int maxConcurrency, int maxMessages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMessages, 1);
        _slots = new SemaphoreSlim(maxConcurrency, maxConcurrency);
        _maxConcurrency = maxConcurrency;
        _maxMessages = maxMessages;
        _leastPerReceive = maxConcurrency >= BatchingSizeFactor * maxMessages ? maxMessages : 1;
    }

    /// <summary>Slots taken and not given back: messages in hand, and those a caller of <see cref="TakeAsync"/> is gathering.</summary>
    public int Taken => _maxConcurrency - _slots.CurrentCount;

    /// <summary>Takes the slots for the next receive; give back with <see cref="Release"/> those the receive did not fill.</summary>
    public async Task<int> TakeAsync(CancellationToken cancellationToken)
    {
        var free = 0;
        try
        {
            while (free < _leastPerReceive)
            {
                await _slots.WaitAsync(cancellationToken);
                free++;
                while (free < _maxMessages && _slots.Wait(0, CancellationToken.None))
                {
                    free++;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Release(free);
            throw;
        }

        return free;
    }

    /// <summary>Gives back <paramref name="count"/> slots: messages handled, or slots a receive left unfilled.</summary>
    public void Release(int count = 1)
    {
        if (count > 0)
        {
            _slots.Release(count);
        }
    }

    public void Dispose() => _slots.Dispose();
}
