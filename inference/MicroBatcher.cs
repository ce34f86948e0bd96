using System.Runtime.CompilerServices;

namespace InferenceGateway.Inference;

/// <summary>
/// The batching core behind <see cref="EmbeddingBatcher"/>, generic over the model and given the
/// model call as a function, so its merging, cancellation and failure rules are testable with a fake.
/// </summary>
/// <remarks>
/// One lane per model instance (by reference; a lane goes when its model is collected). The first
/// request into an empty lane opens a window of <see cref="BatchingOptions.WindowMs"/> on the
/// injected <see cref="TimeProvider"/>; the window closes when it elapses or when
/// <see cref="BatchingOptions.MaxBatchTexts"/> texts wait. A closed window dispatches a batch as
/// soon as the lane's previous batch has ended (one batch per model at a time, while the next one
/// collects), taking waiting requests first-come first-served while their texts fit; a request
/// larger than the limit is never split: it runs as a batch of its own. Requests left behind by the
/// limit go in the next batch without a new window. The model runs on the thread pool, never on a
/// caller's thread.
/// </remarks>
internal sealed class MicroBatcher<TModel>(
    BatchingOptions options,
    TimeProvider timeProvider,
    ILogger logger,
    Func<TModel, IReadOnlyList<string>, CancellationToken, float[][]> run) : IDisposable, IAsyncDisposable
    where TModel : class
{
    private readonly Func<TModel, IReadOnlyList<string>, CancellationToken, float[][]> _run = run;
    private readonly TimeProvider _timeProvider = timeProvider;
    private readonly ILogger _logger = logger;
    private readonly bool _enabled = options.Enabled;
    private readonly TimeSpan _window = TimeSpan.FromMilliseconds(options.WindowMs);
    private readonly int _maxBatchTexts = options.MaxBatchTexts;
    private readonly ConditionalWeakTable<TModel, Lane> _lanes = new();
    private long _batches;
    private long _requests;
    private long _texts;
    private volatile bool _disposed;

    private enum RequestState
    {
        New,
        Waiting,
        Running,
        Done,
    }

    /// <summary>Counters since construction.</summary>
    public BatchingStatistics Statistics => new(
        Interlocked.Read(ref _batches),
        Interlocked.Read(ref _requests),
        Interlocked.Read(ref _texts));

    /// <summary>Embeds <paramref name="texts"/>, in a batch with other callers' texts for the same model.</summary>
    public Task<float[][]> EmbedAsync(TModel model, IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(texts);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<float[][]>(cancellationToken);
        }

        if (texts.Count == 0)
        {
            return Task.FromResult(Array.Empty<float[]>());
        }

        if (!_enabled)
        {
            return RunAlone(model, texts, cancellationToken);
        }

        var lane = _lanes.GetValue(model, m => new Lane(this, m));
        var request = new Request([.. texts], cancellationToken); // a copy: the batch is built later
        // May run at once (the token was cancelled since the check above): Cancel handles a New request.
        request.Registration = cancellationToken.Register(() => lane.Cancel(request));
        lane.Enqueue(request);
        return request.Completion.Task;
    }

    /// <summary>Texts now waiting for <paramref name="model"/>'s next batch (not the running one).</summary>
    internal int WaitingTexts(TModel model) => _lanes.TryGetValue(model, out var lane) ? lane.WaitingTexts : 0;

    /// <summary>Fails every waiting request with <see cref="ObjectDisposedException"/>; running batches finish.</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (var (_, lane) in _lanes)
        {
            lane.Shutdown();
        }
    }

    /// <summary>As <see cref="Dispose"/>, then waits for the running batches to end.</summary>
    public async ValueTask DisposeAsync()
    {
        Dispose();
        await Task.WhenAll(_lanes.Select(pair => pair.Value.Current));
    }

    private Task<float[][]> RunAlone(TModel model, IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        try
        {
            Count(requests: 1, texts.Count);
            return Task.FromResult(_run(model, texts, cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<float[][]>(cancellationToken);
        }
        catch (Exception e)
        {
            return Task.FromException<float[][]>(e);
        }
    }

    private void Count(int requests, int texts)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _requests, requests);
        Interlocked.Add(ref _texts, texts);
    }

    private sealed class Request(string[] texts, CancellationToken token)
    {
        public string[] Texts { get; } = texts;

        public CancellationToken Token { get; } = token;

        public TaskCompletionSource<float[][]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenRegistration Registration { get; set; }

        /// <summary>Guarded by the lane's lock.</summary>
        public RequestState State { get; set; }

        /// <summary>The batch it runs in, once dispatched.</summary>
        public Batch? Batch { get; set; }
    }

    private sealed class Batch(Request[] requests)
    {
        public Request[] Requests { get; } = requests;

        public string[] Texts { get; } = [.. requests.SelectMany(r => r.Texts)];

        /// <summary>Cancelled when every caller in the batch has cancelled: the model run is abandoned.</summary>
        public CancellationTokenSource Abandon { get; } = new();

        /// <summary>Callers still waiting for the result; guarded by the lane's lock.</summary>
        public int Live { get; set; } = requests.Length;

        /// <summary>The model call has returned; guarded by the lane's lock.</summary>
        public bool Finished { get; set; }
    }

    private sealed class Lane(MicroBatcher<TModel> owner, TModel model)
    {
        private readonly Lock _gate = new();
        private readonly List<Request> _waiting = [];
        private int _waitingTexts;
        private ITimer? _timer;
        private long _windowGeneration;
        private bool _windowClosed;
        private bool _running;
        private Task _current = Task.CompletedTask;

        public int WaitingTexts
        {
            get
            {
                lock (_gate)
                {
                    return _waitingTexts;
                }
            }
        }

        public Task Current
        {
            get
            {
                lock (_gate)
                {
                    return _current;
                }
            }
        }

        public void Enqueue(Request request)
        {
            lock (_gate)
            {
                if (request.State != RequestState.New)
                {
                    return; // cancelled before it joined
                }

                if (owner._disposed)
                {
                    request.State = RequestState.Done;
                    request.Completion.TrySetException(new ObjectDisposedException(owner.GetType().Name));
                    return;
                }

                request.State = RequestState.Waiting;
                _waiting.Add(request);
                _waitingTexts += request.Texts.Length;
                if (_waiting.Count == 1)
                {
                    OpenWindowLocked();
                }

                if (_waitingTexts >= owner._maxBatchTexts)
                {
                    _windowClosed = true;
                }

                DispatchLocked();
            }
        }

        public void Cancel(Request request)
        {
            Batch? abandoned = null;
            lock (_gate)
            {
                switch (request.State)
                {
                    case RequestState.New:
                        break;
                    case RequestState.Waiting:
                        _waiting.Remove(request);
                        _waitingTexts -= request.Texts.Length;
                        if (_waiting.Count == 0)
                        {
                            CloseWindowLocked();
                        }

                        break;
                    case RequestState.Running:
                        var batch = request.Batch!;
                        batch.Live--;
                        if (batch.Live == 0 && !batch.Finished)
                        {
                            abandoned = batch;
                        }

                        break;
                    default:
                        return; // already completed
                }

                request.State = RequestState.Done;
            }

            request.Completion.TrySetCanceled(request.Token);
            // Outside the lock: this runs the model's own registration (RunOptions.Terminate).
            abandoned?.Abandon.Cancel();
        }

        public void Shutdown()
        {
            Request[] dropped;
            lock (_gate)
            {
                dropped = [.. _waiting];
                _waiting.Clear();
                _waitingTexts = 0;
                CloseWindowLocked();
                foreach (var request in dropped)
                {
                    request.State = RequestState.Done;
                }
            }

            foreach (var request in dropped)
            {
                request.Registration.Dispose();
                request.Completion.TrySetException(new ObjectDisposedException(owner.GetType().Name));
            }
        }

        private void OpenWindowLocked()
        {
            if (owner._window <= TimeSpan.Zero)
            {
                _windowClosed = true;
                return;
            }

            _windowClosed = false;
            var generation = ++_windowGeneration;
            _timer?.Dispose();
            _timer = owner._timeProvider.CreateTimer(_ => OnWindowElapsed(generation), null, owner._window, Timeout.InfiniteTimeSpan);
        }

        private void CloseWindowLocked()
        {
            _windowGeneration++;
            _windowClosed = false;
            _timer?.Dispose();
            _timer = null;
        }

        private void OnWindowElapsed(long generation)
        {
            lock (_gate)
            {
                if (generation != _windowGeneration)
                {
                    return; // a window since closed by its batch or its last caller's cancellation
                }

                _windowClosed = true;
                DispatchLocked();
            }
        }

        /// <summary>Starts the next batch when its window has closed and the previous batch has ended.</summary>
        private void DispatchLocked()
        {
            if (_running || !_windowClosed || _waiting.Count == 0)
            {
                return;
            }

            var take = 1;
            var texts = _waiting[0].Texts.Length;
            while (take < _waiting.Count && texts + _waiting[take].Texts.Length <= owner._maxBatchTexts)
            {
                texts += _waiting[take].Texts.Length;
                take++;
            }

            var requests = _waiting.GetRange(0, take).ToArray();
            _waiting.RemoveRange(0, take);
            _waitingTexts -= texts;
            if (_waiting.Count == 0)
            {
                CloseWindowLocked();
            }

            // Requests left behind by the limit have waited out their window: they go next, at once.
            var batch = new Batch(requests);
            foreach (var request in requests)
            {
                request.State = RequestState.Running;
                request.Batch = batch;
            }

            _running = true;
            _current = Task.Run(() => Execute(batch));
        }

        private void Execute(Batch batch)
        {
            float[][]? vectors = null;
            Exception? error = null;
            var started = owner._timeProvider.GetTimestamp();
            try
            {
                batch.Abandon.Token.ThrowIfCancellationRequested();
                owner.Count(batch.Requests.Length, batch.Texts.Length);
                vectors = owner._run(model, batch.Texts, batch.Abandon.Token);
                if (vectors.Length != batch.Texts.Length)
                {
                    throw new InvalidOperationException($"The model returned {vectors.Length} vectors for {batch.Texts.Length} texts.");
                }
            }
            catch (Exception e)
            {
                error = e;
            }

            var elapsedMs = owner._timeProvider.GetElapsedTime(started).TotalMilliseconds;
            lock (_gate)
            {
                batch.Finished = true;
                foreach (var request in batch.Requests)
                {
                    if (request.State == RequestState.Running)
                    {
                        request.State = RequestState.Done;
                    }
                }

                _running = false;
                DispatchLocked();
            }

            if (error is null)
            {
                BatchingLog.BatchEmbedded(owner._logger, batch.Texts.Length, batch.Requests.Length, elapsedMs);
            }
            else if (!batch.Abandon.IsCancellationRequested)
            {
                BatchingLog.BatchFailed(owner._logger, error, batch.Texts.Length, batch.Requests.Length);
            }

            var offset = 0;
            foreach (var request in batch.Requests)
            {
                // Waits for a cancellation callback running now, so Abandon is not cancelled after its disposal.
                request.Registration.Dispose();
                if (error is not null)
                {
                    request.Completion.TrySetException(error);
                }
                else
                {
                    request.Completion.TrySetResult(vectors.AsSpan(offset, request.Texts.Length).ToArray());
                }

                offset += request.Texts.Length;
            }

            batch.Abandon.Dispose();
        }
    }
}
