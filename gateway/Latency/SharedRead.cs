namespace InferenceGateway.Gateway.Latency;

/// <summary>
/// One slow read shared by many callers: a value younger than <c>freshFor</c> is answered as it
/// is; an older one is answered too (up to <c>staleFor</c>) while one background read refreshes it;
/// only with nothing to answer does a caller wait, and then at most <c>waitAtMost</c> before it gets
/// the fallback. A read that fails or takes longer than <c>readTimeout</c> stores the fallback,
/// so a dead dependency is asked once per <c>freshFor</c>, not once per caller.
/// </summary>
internal sealed class SharedRead<T>(Func<CancellationToken, Task<T>> read, T fallback, TimeProvider time, Action<Exception> onFailure)
{
    private readonly Lock _gate = new();
    private Task<T>? _refresh;
    private T _value = default!;
    private DateTimeOffset _readAt;
    private bool _hasValue;

    public Task<T> GetAsync(TimeSpan freshFor, TimeSpan waitAtMost, TimeSpan readTimeout)
    {
        var staleFor = freshFor * 10;
        Task<T> refresh;
        lock (_gate)
        {
            var age = time.GetUtcNow() - _readAt;
            var known = _hasValue && age >= TimeSpan.Zero;
            if (known && age < freshFor)
            {
                return Task.FromResult(_value);
            }

            refresh = _refresh ??= Task.Run(() => RefreshAsync(readTimeout));
            if (known && age < staleFor)
            {
                return Task.FromResult(_value);
            }
        }

        return WaitAsync(refresh, waitAtMost);
    }

    private async Task<T> WaitAsync(Task<T> refresh, TimeSpan waitAtMost)
    {
        try
        {
            return await refresh.WaitAsync(waitAtMost, time);
        }
        catch (TimeoutException)
        {
            return fallback;
        }
    }

    private async Task<T> RefreshAsync(TimeSpan readTimeout)
    {
        T value;
        try
        {
            using var timeout = new CancellationTokenSource(readTimeout, time);
            value = await read(timeout.Token).WaitAsync(readTimeout, time);
        }
        catch (Exception ex)
        {
            onFailure(ex);
            value = fallback;
        }

        lock (_gate)
        {
            _value = value;
            _readAt = time.GetUtcNow();
            _hasValue = true;
            _refresh = null;
        }

        return value;
    }
}
