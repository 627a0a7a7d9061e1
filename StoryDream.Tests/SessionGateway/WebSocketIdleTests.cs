using System.Net.WebSockets;
using StackExchange.Redis;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

public sealed class WebSocketIdleTests(TestServers servers)
{
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromSeconds(1);

    [Fact(Timeout = 30_000)]
    public async Task IdleHmrSocket_PingedPastTheConfiguredActivityTimeout_StaysOpen()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (gateway, url, cookie) = await StartAsync(pod, ct);
        await using var disposeGateway = gateway;

        using var socket = await gateway.ConnectWebSocketAsync(url, options =>
        {
            options.SetRequestHeader("Cookie", cookie);
            ApiProxyTests.PingEvery(TimeSpan.FromMilliseconds(250))(options);
        }, ct);
        _ = await EchoServer.ReceiveTextAsync(socket, ct);
        // A browser always has a read pending, and .NET handles the pong replies to its pings only inside a read.
        var reply = EchoServer.ReceiveTextAsync(socket, ct);
        await Task.Delay(ShortTimeout * 4, ct);

        await socket.SendAsync("{\"type\":\"ping\"}"u8.ToArray(), WebSocketMessageType.Text, true, ct);
        Assert.Equal("{\"type\":\"ping\"}", await reply);
        Assert.Equal(WebSocketState.Open, socket.State);
    }

    [Fact(Timeout = 30_000)]
    public async Task IdleHmrSocket_SilentPastTheConfiguredActivityTimeout_ClosedByTheGateway()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (gateway, url, cookie) = await StartAsync(pod, ct);
        await using var disposeGateway = gateway;

        using var socket = await gateway.ConnectWebSocketAsync(url, options =>
        {
            options.SetRequestHeader("Cookie", cookie);
            options.KeepAliveInterval = TimeSpan.Zero;
        }, ct);
        _ = await EchoServer.ReceiveTextAsync(socket, ct);

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(ShortTimeout * 10);
        await Assert.ThrowsAnyAsync<WebSocketException>(() => EchoServer.ReceiveTextAsync(socket, wait.Token));
    }

    private async Task<(GatewayServer Gateway, Uri Url, string Cookie)> StartAsync(EchoServer pod, CancellationToken cancellationToken)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        await new SessionSeed(redis).WriteAsync(sessionId, user, pod.Url);
        var gateway = GatewayServer.Start(await servers.RedisAsync(), new Dictionary<string, string?>
        {
            ["Gateway:WebSocketActivityTimeout"] = ShortTimeout.ToString(),
        });
        var cookie = await gateway.SignInAsync(gateway.HostUrl(sessionId), gateway.Token(sessionId, user), cancellationToken);
        return (gateway, gateway.HostUrl(sessionId), cookie);
    }
}
