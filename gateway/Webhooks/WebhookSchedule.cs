namespace InferenceGateway.Gateway.Webhooks;

/// <summary>
/// What one dispatcher holds of the outbox, in memory: per job, the chain its entries are delivered
/// in (each after the previous one's last attempt), how many of its entries are held (at most
/// <see cref="WebhookDispatcher.MaxHeldPerJob"/>), which jobs have entries deferred until they have
/// room, the entries in flight, and the jobs whose receiver failed an earlier event's every attempt.
/// Thread-safe: the dispatcher's loop and every delivery call it.
/// </summary>
internal sealed class WebhookSchedule
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Task> _tails = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _heldByJob = new(StringComparer.Ordinal);
    private HashSet<string> _deferredJobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Url, long Seq)> _gaveUp = new(StringComparer.Ordinal);
    private bool _rescan;

    /// <summary>
    /// Entries acknowledged while a rescan runs: its pages are read before they are scheduled, so an
    /// entry can finish (acked, deleted, no longer in flight) between the two; without this the
    /// rescan would deliver it again. Null while no rescan runs.
    /// </summary>
    private HashSet<string>? _ackedDuringRescan;

    /// <summary>
    /// Takes an entry of <paramref name="jobId"/> for delivery: false when it is already in progress
    /// here, or deferred (its job already holds <see cref="WebhookDispatcher.MaxHeldPerJob"/> entries,
    /// or, read afresh, not <paramref name="fromRescan"/>, has earlier entries deferred). When true,
    /// <paramref name="previous"/> is the job's entry to wait for and <paramref name="done"/> must be
    /// completed through <see cref="Finish"/>.
    /// </summary>
    public bool TryStart(string entryId, string jobId, bool fromRescan, out Task previous, out TaskCompletionSource done)
    {
        done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            previous = Task.CompletedTask;
            if (_inFlight.Contains(entryId) || _ackedDuringRescan?.Contains(entryId) == true)
            {
                return false;
            }

            var held = _heldByJob.GetValueOrDefault(jobId);
            if (held >= WebhookDispatcher.MaxHeldPerJob || (!fromRescan && _deferredJobs.Contains(jobId)))
            {
                _deferredJobs.Add(jobId);
                return false;
            }

            _inFlight.Add(entryId);
            _heldByJob[jobId] = held + 1;
            previous = _tails.GetValueOrDefault(jobId) ?? Task.CompletedTask;
            _tails[jobId] = done.Task;
            return true;
        }
    }

    /// <summary>An entry <see cref="TryStart"/> took is done (<paramref name="acked"/>: acknowledged and deleted); its job's next entry may go.</summary>
    public void Finish(string entryId, string jobId, bool acked, TaskCompletionSource done)
    {
        lock (_lock)
        {
            _inFlight.Remove(entryId);
            if (acked)
            {
                _ackedDuringRescan?.Add(entryId);
            }

            if (_tails.TryGetValue(jobId, out var tail) && tail == done.Task)
            {
                _tails.Remove(jobId);
            }

            if (_heldByJob.GetValueOrDefault(jobId) <= 1)
            {
                _heldByJob.Remove(jobId);
                if (!_deferredJobs.Contains(jobId))
                {
                    _gaveUp.Remove(jobId);
                }
            }
            else
            {
                _heldByJob[jobId]--;
            }

            if (_deferredJobs.Contains(jobId))
            {
                _rescan = true;
            }
        }

        done.SetResult();
    }

    /// <summary>Whether a rescan is due (a deferred job's entry finished); clears it.</summary>
    public bool TakeRescan()
    {
        lock (_lock)
        {
            var rescan = _rescan;
            _rescan = false;
            return rescan;
        }
    }

    public bool HasDeferred()
    {
        lock (_lock)
        {
            return _deferredJobs.Count > 0;
        }
    }

    public int InFlightCount()
    {
        lock (_lock)
        {
            return _inFlight.Count;
        }
    }

    /// <summary>The ids of the entries in flight.</summary>
    public string[] InFlight()
    {
        lock (_lock)
        {
            return [.. _inFlight];
        }
    }

    /// <summary>The deliveries still running (each job's last).</summary>
    public Task[] Running()
    {
        lock (_lock)
        {
            return [.. _tails.Values];
        }
    }

    /// <summary>A rescan starts: entries acknowledged from now on are remembered (<see cref="IsHeldBack"/>).</summary>
    public void BeginRescan()
    {
        lock (_lock)
        {
            _ackedDuringRescan = new HashSet<string>(StringComparer.Ordinal);
        }
    }

    public void EndRescan()
    {
        lock (_lock)
        {
            _ackedDuringRescan = null;
        }
    }

    /// <summary>Whether an entry a rescan did not schedule still waits: neither in progress here nor finished since the rescan read it.</summary>
    public bool IsHeldBack(string entryId)
    {
        lock (_lock)
        {
            return !_inFlight.Contains(entryId) && _ackedDuringRescan?.Contains(entryId) != true;
        }
    }

    /// <summary>After a rescan: the jobs with entries still deferred; a job no longer deferred nor held forgets its failed receiver.</summary>
    public void SetDeferred(HashSet<string> deferredJobs)
    {
        lock (_lock)
        {
            foreach (var job in _deferredJobs)
            {
                if (!deferredJobs.Contains(job) && !_heldByJob.ContainsKey(job))
                {
                    _gaveUp.Remove(job);
                }
            }

            _deferredJobs = deferredJobs;
        }
    }

    /// <summary>The URL and event at which <paramref name="jobId"/>'s receiver failed every attempt; default when none did.</summary>
    public (string Url, long Seq) GaveUpAt(string jobId)
    {
        lock (_lock)
        {
            return _gaveUp.GetValueOrDefault(jobId);
        }
    }

    /// <summary>Records that <paramref name="url"/> failed every attempt at event <paramref name="seq"/> of <paramref name="jobId"/>.</summary>
    public void GaveUp(string jobId, string url, long seq)
    {
        lock (_lock)
        {
            _gaveUp[jobId] = (url, seq);
        }
    }
}
