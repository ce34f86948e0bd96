namespace InferenceGateway.Tests.Infrastructure;

/// <summary>
/// Waits for state that has no event to await (such as YARP's destination health), checking it
/// often until a deadline; the test fails, naming what was awaited, if it never holds.
/// </summary>
public static class Eventually
{
    public static async Task HoldsAsync(Func<bool> condition, TimeSpan deadline, string what)
    {
        using var cts = new CancellationTokenSource(deadline);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!condition())
        {
            try
            {
                await tick.WaitForNextTickAsync(cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                Assert.Fail($"Not within {deadline.TotalSeconds:0} s: {what}");
            }
        }
    }

    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan deadline, string what)
    {
        using var cts = new CancellationTokenSource(deadline);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        while (!await condition())
        {
            try
            {
                await tick.WaitForNextTickAsync(cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                Assert.Fail($"Not within {deadline.TotalSeconds:0} s: {what}");
            }
        }
    }
}
