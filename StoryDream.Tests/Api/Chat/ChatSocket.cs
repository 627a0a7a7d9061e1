using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StoryDream.Tests.Api.Chat;

/// <summary>A browser tab's chat socket: sends frames, and reads them in order, keeping every frame it has seen.</summary>
public sealed class ChatSocket(ClientWebSocket socket) : IAsyncDisposable
{
    private static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    public List<JsonObject> Seen { get; } = [];

    public WebSocket Socket => socket;

    public Task SendAsync(object frame, CancellationToken cancellationToken) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(frame), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>The next frame; null when the server closed the socket.</summary>
    public async Task<JsonObject?> ReceiveAsync(CancellationToken cancellationToken, TimeSpan? wait = null)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait ?? DefaultWait);
        var buffer = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.GetMemory(8192), timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close) { return null; }
            buffer.Advance(result.Count);
            if (result.EndOfMessage) { break; }
        }
        var frame = JsonNode.Parse(buffer.WrittenSpan)!.AsObject();
        Seen.Add(frame);
        return frame;
    }

    /// <summary>Reads until a frame of <paramref name="type"/> that matches; fails if the socket closes or the wait runs out.</summary>
    public async Task<JsonObject> WaitForAsync(string type, CancellationToken cancellationToken, Func<JsonObject, bool>? match = null, TimeSpan? wait = null)
    {
        var deadline = DateTime.UtcNow + (wait ?? DefaultWait);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) { throw new TimeoutException($"No {type} frame; seen: {string.Join(", ", Seen.Select(f => f.ToJsonString()))}"); }
            var frame = await ReceiveAsync(cancellationToken, left)
                ?? throw new InvalidOperationException($"The socket closed before a {type} frame; seen: {string.Join(", ", Seen.Select(f => f.ToJsonString()))}");
            if ((string?)frame["type"] == type && (match is null || match(frame))) { return frame; }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // The server went first.
            }
        }
        socket.Dispose();
    }
}
