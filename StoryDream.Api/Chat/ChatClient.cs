using System.Net.WebSockets;
using System.Threading.Channels;

namespace StoryDream.Api.Chat;

/// <summary>
/// One browser socket's outgoing side: frames queue here and one writer sends them in order, so the fan-out never
/// waits on a slow client. The queue is bounded in bytes: a client that falls that far behind is closed with
/// <see cref="WebSocketCloseStatus.PolicyViolation"/> and a reason (it reconnects and reloads the history) rather than
/// held in memory without bound. The writer is also the only one to send the close frame: a close sent beside a data
/// frame in flight makes that send fail, and the abort that follows resets the connection before the client reads why.
/// </summary>
internal sealed class ChatClient : IAsyncDisposable
{
    public const long MaxQueuedBytes = 4L * 1024 * 1024;
    public const string TooSlowReason = "The client did not read its frames fast enough; reconnect to reload the conversation.";
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    private readonly WebSocket _socket;
    private readonly Channel<byte[]> _outbound = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _abort = new();
    private readonly Task _writer;
    private readonly Lock _closeLock = new();
    private long _queuedBytes;
    private (WebSocketCloseStatus Status, string Reason)? _close;
    private bool _dropQueued;

    public ChatClient(WebSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _socket = socket;
        _writer = Task.Run(WriteAsync);
    }

    /// <summary>Bytes queued and not yet sent: never more than <see cref="MaxQueuedBytes"/> plus one frame.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>Queues a frame; never blocks. Past the byte bound the client is closed as too slow.</summary>
    public void Send(byte[] frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (Interlocked.Add(ref _queuedBytes, frame.Length) > MaxQueuedBytes)
        {
            Interlocked.Add(ref _queuedBytes, -frame.Length);
            BeginClose(WebSocketCloseStatus.PolicyViolation, TooSlowReason, dropQueued: true);
            return;
        }
        if (!_outbound.Writer.TryWrite(frame))
        {
            // Closing: the frame is not sent.
            Interlocked.Add(ref _queuedBytes, -frame.Length);
        }
    }

    /// <summary>Sends what is queued, then the close frame with <paramref name="status"/>; returns once it is sent (or given up).</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        BeginClose(status, reason, dropQueued: false);
        await _writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private void BeginClose(WebSocketCloseStatus status, string reason, bool dropQueued)
    {
        lock (_closeLock)
        {
            if (_close is not null) { return; }
            _close = (status, reason);
            _dropQueued = dropQueued;
        }
        _outbound.Writer.TryComplete();
    }

    private async Task WriteAsync()
    {
        try
        {
            await foreach (var frame in _outbound.Reader.ReadAllAsync(_abort.Token))
            {
                Interlocked.Add(ref _queuedBytes, -frame.Length);
                if (Volatile.Read(ref _dropQueued)) { continue; }
                await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, _abort.Token);
            }
            if (_close is { } close && _socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                // A client that reads nothing at all cannot take the close frame either: it is cut off.
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
                timeout.CancelAfter(CloseTimeout);
                await _socket.CloseOutputAsync(close.Status, close.Reason, timeout.Token);
                if (Volatile.Read(ref _dropQueued))
                {
                    // Nor would it answer the close: do not wait on its read side for ever.
                    await Task.Delay(CloseTimeout, _abort.Token);
                    if (_socket.State != WebSocketState.Closed) { _socket.Abort(); }
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away; the read side sees the socket end and cleans up.
            _socket.Abort();
        }
    }

    /// <summary>Sends what is queued (briefly), then closes the socket normally unless it was closed already.</summary>
    public async ValueTask DisposeAsync()
    {
        BeginClose(WebSocketCloseStatus.NormalClosure, "", dropQueued: false);
        if (await Task.WhenAny(_writer, Task.Delay(CloseTimeout * 2)) != _writer)
        {
            _socket.Abort();
        }
        await _abort.CancelAsync();
        await _writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _abort.Dispose();
    }
}
