namespace InferenceGateway.Inference.TextGeneration;

/// <summary>
/// Picks the next token from a step's logits: the most likely one (greedy) when the temperature is
/// 0, else a draw at that temperature among the top-k tokens and then the top-p nucleus, from a
/// xoshiro256** generator seeded by the job, so a seed gives the same tokens on any machine.
/// With a top-k only the k best are selected and sorted; with none (top_k 0) the whole vocabulary
/// is sorted each token, because the draw walks the candidates in that order.
/// </summary>
public sealed class TokenSampler
{
    private readonly float _temperature;
    private readonly float _topP;
    private readonly int _topK;
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    public TokenSampler(float temperature, float topP, int topK, long seed)
    {
        _temperature = temperature;
        _topP = topP <= 0 || topP > 1 ? 1 : topP;
        _topK = topK;
        // SplitMix64 spreads the seed over the state, as xoshiro's authors recommend.
        var x = unchecked((ulong)seed);
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    public bool Greedy => _temperature <= 0;

    public int Next(ReadOnlySpan<float> logits)
    {
        if (Greedy)
        {
            return ArgMax(logits);
        }

        // Candidates in descending logit order (ties by id), cut to top-k: with a top-k, only the k
        // best are selected (a bounded heap, O(n log k)) and sorted, the same candidates in the
        // same order as sorting the whole vocabulary, so seeded draws do not change.
        int[] order;
        int count;
        if (_topK > 0 && _topK < logits.Length)
        {
            order = Best(logits, _topK);
            count = order.Length;
        }
        else
        {
            order = new int[logits.Length];
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            var all = logits.ToArray();
            Array.Sort(order, (a, b) => all[b].CompareTo(all[a]) is var c && c != 0 ? c : a.CompareTo(b));
            count = order.Length;
        }

        var values = logits;
        // Masked ids (-inf: no token) are never candidates, even as the rounding fallback below.
        while (count > 1 && float.IsNegativeInfinity(values[order[count - 1]]))
        {
            count--;
        }

        var max = values[order[0]];
        var probabilities = new double[count];
        double sum = 0;
        for (var i = 0; i < count; i++)
        {
            probabilities[i] = Math.Exp((values[order[i]] - max) / _temperature);
            sum += probabilities[i];
        }

        // Nucleus: the smallest prefix whose probability reaches top-p.
        if (_topP < 1)
        {
            double cumulative = 0;
            for (var i = 0; i < count; i++)
            {
                cumulative += probabilities[i] / sum;
                if (cumulative >= _topP)
                {
                    count = i + 1;
                    break;
                }
            }

            sum = 0;
            for (var i = 0; i < count; i++)
            {
                sum += probabilities[i];
            }
        }

        var draw = NextDouble() * sum;
        for (var i = 0; i < count; i++)
        {
            draw -= probabilities[i];
            if (draw < 0)
            {
                return order[i];
            }
        }

        return order[count - 1];
    }

    /// <summary>The <paramref name="k"/> best ids, best first: higher logit, then lower id.</summary>
    private static int[] Best(ReadOnlySpan<float> logits, int k)
    {
        // A min-heap whose root is the worst kept candidate (lower logit, or a higher id among equals).
        var heap = new PriorityQueue<int, (float Logit, int Id)>(k, WorstFirst.Instance);
        for (var id = 0; id < logits.Length; id++)
        {
            if (heap.Count < k)
            {
                heap.Enqueue(id, (logits[id], id));
            }
            else if (heap.TryPeek(out _, out var worst) && WorstFirst.Instance.Compare((logits[id], id), worst) > 0)
            {
                heap.EnqueueDequeue(id, (logits[id], id));
            }
        }

        var best = new int[heap.Count];
        for (var i = best.Length - 1; i >= 0; i--)
        {
            best[i] = heap.Dequeue();
        }

        return best;
    }

    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>Orders candidates worst first: a lower logit, or a higher id among equal logits.</summary>
    private sealed class WorstFirst : IComparer<(float Logit, int Id)>
    {
        public static readonly WorstFirst Instance = new();

        public int Compare((float Logit, int Id) x, (float Logit, int Id) y) =>
            x.Logit.CompareTo(y.Logit) is var c && c != 0 ? c : y.Id.CompareTo(x.Id);
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private double NextDouble()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return (result >> 11) * (1.0 / (1UL << 53));
    }
}
