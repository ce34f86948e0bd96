using System.Text;

namespace InferenceGateway.Inference.TextGeneration;

/// <summary>
/// Turns generated tokens' bytes into text that is safe to stream: bytes of a UTF-8 character
/// still incomplete are held until it completes, and text that may be the start of a stop sequence
/// is held until it is known not to be one. Everything <see cref="Push"/> and
/// <see cref="Finish"/> release, concatenated, is exactly <see cref="Text"/>.
/// </summary>
public sealed class TextStream(IReadOnlyList<string> stops)
{
    private readonly List<byte> _bytes = [];
    private readonly StringBuilder _released = new();
    private string _held = string.Empty;

    /// <summary>The text released so far (the final text once finished).</summary>
    public string Text => _released.ToString();

    /// <summary>True once a stop sequence appeared: the text ends before it.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds a token's bytes; returns the text that can be released now (possibly empty).</summary>
    public string Push(ReadOnlySpan<byte> tokenBytes)
    {
        if (Stopped)
        {
            return string.Empty;
        }

        _bytes.AddRange(tokenBytes);
        var complete = CompleteLength(_bytes);
        if (complete == 0)
        {
            return string.Empty;
        }

        var decoded = Encoding.UTF8.GetString([.. _bytes.GetRange(0, complete)]);
        _bytes.RemoveRange(0, complete);
        var pending = _held + decoded;

        // A stop can only start in what is held or new: anything that might begin one was held.
        var stopAt = -1;
        foreach (var stop in stops)
        {
            var at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (stopAt < 0 || at < stopAt))
            {
                stopAt = at;
            }
        }

        if (stopAt >= 0)
        {
            Stopped = true;
            _held = string.Empty;
            return Release(pending[..stopAt]);
        }

        var hold = HeldSuffix(pending);
        _held = pending[(pending.Length - hold)..];
        return Release(pending[..(pending.Length - hold)]);
    }

    /// <summary>Generation ended without a stop: releases what was held (an unfinished character becomes U+FFFD).</summary>
    public string Finish()
    {
        if (Stopped)
        {
            return string.Empty;
        }

        var rest = _held + (_bytes.Count > 0 ? Encoding.UTF8.GetString([.. _bytes]) : string.Empty);
        _bytes.Clear();
        _held = string.Empty;
        return Release(rest);
    }

    /// <summary>Bytes from the start that form whole characters (or are invalid anyway): all but an unfinished sequence at the end.</summary>
    private static int CompleteLength(List<byte> bytes)
    {
        var count = bytes.Count;
        // Look back at most 3 bytes for the lead byte of the last sequence.
        for (var back = 1; back <= Math.Min(4, count); back++)
        {
            var b = bytes[count - back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // continuation byte
            }

            var needed = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
            return needed > back ? count - back : count;
        }

        return count;
    }

    /// <summary>Length of the longest suffix of <paramref name="text"/> that is a proper prefix of a stop sequence.</summary>
    private int HeldSuffix(string text)
    {
        var longest = 0;
        foreach (var stop in stops)
        {
            for (var length = Math.Min(stop.Length - 1, text.Length); length > longest; length--)
            {
                if (text.AsSpan(text.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }

        // Never split a surrogate pair.
        if (longest > 0 && longest < text.Length && char.IsLowSurrogate(text[text.Length - longest]))
        {
            longest++;
        }

        return longest;
    }

    private string Release(string text)
    {
        _released.Append(text);
        return text;
    }
}
