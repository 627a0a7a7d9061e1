using System.Buffers;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StoryDream.Api.Chat;

/// <summary>
/// One turn's WebSocket to the pod's agent (<c>GET /agent</c> on :3001). A turn opens it, sends <c>init</c> and the user
/// message, reads frames until the turn ends, and closes it: the agent keeps its own state between turns and resumes by
/// <c>agentSessionId</c>, so no connection has to outlive a turn or be shared between API replicas.
/// </summary>
internal sealed class AgentConnection : IAsyncDisposable
{
    private const int MaxFrameBytes = 4 * 1024 * 1024;
    private readonly ClientWebSocket _socket = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    private AgentConnection()
    {
    }

    public static async Task<AgentConnection> ConnectAsync(Uri agentUrl, AuthenticationHeaderValue podAuthorization, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(agentUrl);
        ArgumentNullException.ThrowIfNull(podAuthorization);
        var connection = new AgentConnection();
        connection._socket.Options.SetRequestHeader("Authorization", podAuthorization.ToString());
        var builder = new UriBuilder(new Uri(agentUrl, "agent")) { Scheme = agentUrl.Scheme == "https" ? "wss" : "ws" };
        try
        {
            await connection._socket.ConnectAsync(builder.Uri, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task SendAsync(JsonObject frame, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(frame);
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>The agent's frames until it closes the socket; a broken socket ends the sequence with a <see cref="WebSocketException"/>.</summary>
    public async IAsyncEnumerable<JsonObject> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        while (true)
        {
            buffer.ResetWrittenCount();
            ValueWebSocketReceiveResult result;
            do
            {
                result = await _socket.ReceiveAsync(buffer.GetMemory(8 * 1024), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close) { yield break; }
                buffer.Advance(result.Count);
                if (buffer.WrittenCount > MaxFrameBytes)
                {
                    throw new WebSocketException($"The agent sent a frame over {MaxFrameBytes} bytes.");
                }
            }
            while (!result.EndOfMessage);

            if (JsonNode.Parse(buffer.WrittenSpan) is JsonObject frame) { yield return frame; }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "turn over", timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // The pod went away first; nothing to close.
            }
        }
        _socket.Dispose();
        _sendLock.Dispose();
    }
}
