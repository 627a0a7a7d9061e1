using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using StoryDream.Api.Chat;

namespace StoryDream.Tests.Api.Chat;

/// <summary>The outgoing side of a chat socket over a real loopback TCP connection.</summary>
public sealed class ChatClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Send_PeerThatDoesNotRead_QueueStaysBoundedAndThePeerLearnsWhyItWasClosed()
    {
        var (server, peer) = await ConnectAsync();
        using var _ = peer;
        await using var client = new ChatClient(server);
        var frame = new byte[64 * 1024];
        var maxQueued = 0L;

        for (var i = 0; i < 1024; i++)
        {
            client.Send(frame);
            maxQueued = Math.Max(maxQueued, client.QueuedBytes);
        }
        var (frames, status, reason) = await ReadUntilCloseAsync(peer);

        Assert.InRange(maxQueued, 0, ChatClient.MaxQueuedBytes);
        Assert.InRange(frames, 0, 1023);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Equal(ChatClient.TooSlowReason, reason);
    }

    [Fact]
    public async Task Close_WhileFramesAreQueued_PeerReadsThemThenTheCloseWithItsReason()
    {
        var (server, peer) = await ConnectAsync();
        using var _ = peer;
        await using var client = new ChatClient(server);
        for (var i = 0; i < 40; i++) { client.Send(new byte[64 * 1024]); }

        var closing = client.CloseAsync(WebSocketCloseStatus.MessageTooBig, "Frames are at most 256 KiB.");
        client.Send(new byte[10]);
        var (frames, status, reason) = await ReadUntilCloseAsync(peer);
        await closing.WaitAsync(Timeout, TestContext.Current.CancellationToken);

        Assert.Equal(40, frames);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, status);
        Assert.Equal("Frames are at most 256 KiB.", reason);
    }

    private static async Task<(int Frames, WebSocketCloseStatus? Status, string? Reason)> ReadUntilCloseAsync(WebSocket peer)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Timeout);
        var buffer = new byte[128 * 1024];
        var frames = 0;
        while (true)
        {
            var result = await peer.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close) { return (frames, result.CloseStatus, result.CloseStatusDescription); }
            if (result.EndOfMessage) { frames++; }
        }
    }

    private static async Task<(WebSocket Server, WebSocket Peer)> ConnectAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepting = listener.AcceptSocketAsync(TestContext.Current.CancellationToken).AsTask();
        var peerSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peerSocket.ConnectAsync(listener.LocalEndpoint, TestContext.Current.CancellationToken);
        var serverSocket = await accepting.WaitAsync(Timeout, TestContext.Current.CancellationToken);
        var server = WebSocket.CreateFromStream(new NetworkStream(serverSocket, ownsSocket: true), isServer: true, subProtocol: null, keepAliveInterval: System.Threading.Timeout.InfiniteTimeSpan);
        var peer = WebSocket.CreateFromStream(new NetworkStream(peerSocket, ownsSocket: true), isServer: false, subProtocol: null, keepAliveInterval: System.Threading.Timeout.InfiniteTimeSpan);
        return (server, peer);
    }
}
