using System.Collections.Concurrent;
using System.Net.ServerSentEvents;
using System.Text;

namespace InferenceGateway.Tests.Infrastructure;

/// <summary>
/// A Server-Sent Events body read event by event with <see cref="SseParser"/>, as an EventSource
/// reads it: fields, multi-line data, <c>retry:</c> and line endings are the parser's business.
/// The parser skips comment lines, as the specification says a client does; the tests need them
/// (keep-alives, the reason a stream ended), so a tap on the bytes the parser reads keeps them in
/// <see cref="Comments"/>.
/// </summary>
public sealed class SseReader : IAsyncDisposable
{
    private readonly CommentTap _body;
    private readonly SseParser<string> _parser;
    private readonly CancellationTokenSource _cancel = new();
    private IAsyncEnumerator<SseItem<string>>? _items;

    public SseReader(Stream body)
    {
        _body = new CommentTap(body, Comments);
        _parser = SseParser.Create(_body);
    }

    /// <summary>Comment lines seen so far, without the colon, trimmed (safe to read while a read is in progress).</summary>
    public ConcurrentQueue<string> Comments { get; } = new();

    /// <summary>The reconnection delay the server asked for with <c>retry:</c>, if it did.</summary>
    public TimeSpan? ReconnectionInterval => _parser.ReconnectionInterval == Timeout.InfiniteTimeSpan ? null : _parser.ReconnectionInterval;

    /// <summary>The events of a whole body, in order.</summary>
    public static List<SseItem<string>> Parse(string body) =>
        [.. SseParser.Create(new MemoryStream(Encoding.UTF8.GetBytes(body))).Enumerate()];

    /// <summary>The next event, or null when the body ends. A cancelled read ends the reader, as a cancelled read of the body would.</summary>
    public async Task<SseItem<string>?> ReadAsync(CancellationToken cancellationToken)
    {
        _items ??= _parser.EnumerateAsync(_cancel.Token).GetAsyncEnumerator(_cancel.Token);
        await using var link = cancellationToken.Register(_cancel.Cancel);
        return await _items.MoveNextAsync() ? _items.Current : null;
    }

    /// <summary>The next event's data, or null when the body ends.</summary>
    public async Task<string?> ReadDataAsync(CancellationToken cancellationToken) =>
        await ReadAsync(cancellationToken) is { } item ? item.Data : null;

    public async ValueTask DisposeAsync()
    {
        if (_items is not null)
        {
            await _items.DisposeAsync();
        }

        await _body.DisposeAsync();
        _cancel.Dispose();
    }

    /// <summary>Passes the body's bytes through, keeping each line that starts with a colon.</summary>
    private sealed class CommentTap(Stream inner, ConcurrentQueue<string> comments) : Stream
    {
        private readonly List<byte> _comment = [];
        private bool _atLineStart = true;
        private bool _inComment;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            Observe(buffer.Span[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            Observe(buffer.AsSpan(offset, read));
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Observe(ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes)
            {
                if (b is (byte)'\r' or (byte)'\n')
                {
                    if (_inComment)
                    {
                        comments.Enqueue(Encoding.UTF8.GetString([.. _comment]).Trim());
                        _comment.Clear();
                        _inComment = false;
                    }

                    _atLineStart = true;
                }
                else if (_atLineStart)
                {
                    _inComment = b == (byte)':';
                    _atLineStart = false;
                }
                else if (_inComment)
                {
                    _comment.Add(b);
                }
            }
        }
    }
}
