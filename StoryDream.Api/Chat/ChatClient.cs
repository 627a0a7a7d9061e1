using System.Net.WebSockets;
using System.Threading.Channels;

namespace StoryDream.Api.Chat;

/// <summary>
/// One browser socket's outgoing side: frames queue here and one writer sends them in order, so the fan-out never
/// waits on a slow client. A client that falls this far behind is dropped (it reconnects and reloads the history)
/// rather than holding memory for it without bound.
/// </summary>
internal sealed class ChatClient : IAsyncDisposable
{
    public const int MaxQueuedFrames = 8_192;
    private readonly WebSocket _socket;
    private readonly Channel<byte[]> _outbound = Channel.CreateBounded<byte[]>(
        new BoundedChannelOptions(MaxQueuedFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _abort = new();
    private readonly Task _writer;
    private bool _closed;

    public ChatClient(WebSocket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _socket = socket;
        _writer = Task.Run(WriteAsync);
    }

    /// <summary>Queues a frame; never blocks.</summary>
    public void Send(byte[] frame)
    {
        if (Volatile.Read(ref _closed) || _outbound.Writer.TryWrite(frame)) { return; }
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile: nothing left to drop.
        }
    }

    private async Task WriteAsync()
    {
        try
        {
            await foreach (var frame in _outbound.Reader.ReadAllAsync(_abort.Token))
            {
                await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, _abort.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or fell too far behind; the read side sees the socket end and cleans up.
            _socket.Abort();
        }
    }

    /// <summary>Sends what is queued (briefly), then closes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _closed, true);
        _outbound.Writer.TryComplete();
        try
        {
            await _writer.WaitAsync(TimeSpan.FromSeconds(2));
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
        }
        catch (Exception e) when (e is TimeoutException or WebSocketException or OperationCanceledException)
        {
            _socket.Abort();
        }
        await _abort.CancelAsync();
        _abort.Dispose();
    }
}
