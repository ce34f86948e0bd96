using System.Text;

namespace InferenceGateway.Gateway.Chat;

/// <summary>
/// The text a chat stream's client has, built from the job's <c>token</c> events by token index,
/// never by text length: each event carries the tokens <c>index</c> to <c>index + count - 1</c>, so
/// a rerun's tokens (a redelivered job starts again from index 0, and a stalled run may still append
/// for a moment beside the run that took it over) whose index the client already has are skipped,
/// and only indices past them are sent. Where a rerun's event covers tokens the client has, its text
/// must be what the client got for them; otherwise it is a conflict (the runs generated different
/// texts), reported rather than spliced.
/// </summary>
internal sealed class ChatTokenMerge
{
    private readonly StringBuilder _text = new();

    // Where a token starts in the client's text, for each index an event began or ended at.
    private readonly Dictionary<long, int> _starts = new() { [0] = 0 };

    // The client has tokens [0, _next).
    private long _next;

    /// <summary>The text the client has.</summary>
    public string Text => _text.ToString();

    /// <summary>
    /// Takes one <c>token</c> event: true with <paramref name="fresh"/> the text to send (null when
    /// none is new), false when it contradicts what the client has.
    /// </summary>
    public bool TryAdd(long index, long count, string text, out string? fresh)
    {
        fresh = null;
        var end = index + count;
        if (count <= 0 || index > _next)
        {
            // Nothing to place (a gap cannot be filled in order): the result's text completes it.
            return true;
        }

        if (index == _next)
        {
            fresh = Take(end, text);
            return true;
        }

        if (!_starts.TryGetValue(index, out var at))
        {
            // Where token `index` starts in the client's text is not known: tokens the client has
            // are skipped; new ones cannot be placed without guessing.
            return end <= _next;
        }

        var had = _text.Length - at; // the client's text of tokens [index, _next)
        if (end <= _next)
        {
            if (_starts.TryGetValue(end, out var stop))
            {
                return stop - at == text.Length && Matches(at, text, text.Length);
            }

            if (text.Length > had || !Matches(at, text, text.Length))
            {
                return false;
            }

            _starts[end] = at + text.Length;
            return true;
        }

        // Straddles: its first tokens must read as the client has them, the rest are new.
        if (text.Length < had || !Matches(at, text, had))
        {
            return false;
        }

        fresh = Take(end, text[had..]);
        return true;
    }

    private string? Take(long end, string text)
    {
        _text.Append(text);
        _next = end;
        _starts[end] = _text.Length;
        return text.Length == 0 ? null : text;
    }

    private bool Matches(int at, string text, int length)
    {
        for (var i = 0; i < length; i++)
        {
            if (_text[at + i] != text[i])
            {
                return false;
            }
        }

        return true;
    }
}
