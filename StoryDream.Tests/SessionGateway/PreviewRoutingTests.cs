using System.Net;
using System.Net.WebSockets;
using System.Text;
using StackExchange.Redis;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

public sealed class PreviewRoutingTests(TestServers servers)
{
    [Fact(Timeout = 60_000)]
    public async Task HostMode_Http_ReachesTheSessionsPodWithPathQueryAndOwnHost()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        await using var other = await EchoServer.StartAsync();
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var seed = new SessionSeed(redis);
        var (sessionId, otherId, user) = (SessionSeed.NewId(), SessionSeed.NewId(), SessionSeed.NewId());
        await seed.WriteAsync(sessionId, user, pod.Url);
        await seed.WriteAsync(otherId, user, other.Url);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var cookie = await gateway.SignInAsync(gateway.HostUrl(sessionId), gateway.Token(sessionId, user), ct);
        using var client = gateway.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.HostUrl(sessionId, "/src/Video.tsx?import&t=1"));
        request.Headers.Add("Cookie", $"theme=dark; {cookie}");
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = EchoServer.Parse(await response.Content.ReadAsStringAsync(ct));
        Assert.Equal("/src/Video.tsx", seen.Path);
        Assert.Equal("?import&t=1", seen.Query);
        Assert.Equal(pod.Url.Authority, seen.Host);
        Assert.Equal("theme=dark", seen.Cookie);
        Assert.Empty(other.Requests);
    }

    [Fact(Timeout = 60_000)]
    public async Task PathMode_Http_ForwardsTheWholePathForAViteBase()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        await new SessionSeed(redis).WriteAsync(sessionId, user, pod.Url);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var cookie = await gateway.SignInAsync(gateway.PathUrl(sessionId, "/"), gateway.Token(sessionId, user), ct);
        using var client = gateway.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.PathUrl(sessionId, "/@vite/client?x=1"))
        {
            Content = new StringContent("body"),
        };
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = EchoServer.Parse(await response.Content.ReadAsStringAsync(ct));
        Assert.Equal("POST", seen.Method);
        Assert.Equal($"/preview/{sessionId}/@vite/client", seen.Path);
        Assert.Equal("?x=1", seen.Query);
        Assert.Equal(pod.Url.Authority, seen.Host);
        Assert.Equal("", seen.Cookie);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PodAnswer_PlatformCookiesServiceWorkerScopeAndClearSiteData_DroppedOnTheWayOut(bool byHost)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        // What code the user steers could make a pod answer, aimed at the platform's cookies and origin.
        pod.ResponseHeaders.AddRange([
            new("Set-Cookie", "sd_preview=forged; Path=/"),
            new("Set-Cookie", "__Host-sd_auth=forged; Secure; Path=/"),
            new("Set-Cookie", "__Secure-SD_other=forged; Secure"),
            new("Set-Cookie", "theme=dark; Path=/"),
            new("Service-Worker-Allowed", "/"),
            new("Clear-Site-Data", "\"cookies\", \"storage\""),
            new("X-Pod-Header", "kept"),
        ]);
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        await new SessionSeed(redis).WriteAsync(sessionId, user, pod.Url);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var page = byHost ? gateway.HostUrl(sessionId, "/") : gateway.PathUrl(sessionId, "/");
        var cookie = await gateway.SignInAsync(page, gateway.Token(sessionId, user), ct);
        using var client = gateway.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, page);
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(pod.Requests);
        Assert.Equal(["theme=dark; Path=/"], response.Headers.GetValues("Set-Cookie"));
        Assert.False(response.Headers.Contains("Service-Worker-Allowed"));
        Assert.False(response.Headers.Contains("Clear-Site-Data"));
        Assert.Equal("kept", Assert.Single(response.Headers.GetValues("X-Pod-Header")));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WebSocket_ByHostOrPath_CarriesHmrSubprotocolAndEchoes(bool byHost)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        await new SessionSeed(redis).WriteAsync(sessionId, user, pod.Url);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var page = byHost ? gateway.HostUrl(sessionId) : gateway.PathUrl(sessionId, "/");
        var cookie = await gateway.SignInAsync(page, gateway.Token(sessionId, user), ct);

        using var socket = await gateway.ConnectWebSocketAsync(new Uri(page, "?token=vite-token"), options =>
        {
            options.AddSubProtocol("vite-hmr");
            options.SetRequestHeader("Cookie", cookie);
        }, ct);

        Assert.Equal("vite-hmr", socket.SubProtocol);
        var seen = EchoServer.Parse(await EchoServer.ReceiveTextAsync(socket, ct));
        Assert.Equal(byHost ? "/" : $"/preview/{sessionId}/", seen.Path);
        Assert.Equal("?token=vite-token", seen.Query);
        Assert.Equal(pod.Url.Authority, seen.Host);
        Assert.Equal("", seen.Cookie);
        await socket.SendAsync(Encoding.UTF8.GetBytes("{\"type\":\"ping\"}"), WebSocketMessageType.Text, true, ct);
        Assert.Equal("{\"type\":\"ping\"}", await EchoServer.ReceiveTextAsync(socket, ct));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, ct);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("UPPER-CASE")]
    [InlineData("a.b")]
    [InlineData("a_b")]
    public async Task HostMode_NotASessionLabel_NotFound(string label)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        using var client = gateway.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.Url("/"));
        request.Headers.Host = $"{label}.{gateway.PreviewDomain}:{gateway.Port}";
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task PathMode_EncodedSlashInSessionId_NotFound()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        using var client = gateway.CreateClient();

        using var response = await client.GetAsync(gateway.Url("/preview/..%2Fsession/x"), ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task PreviewHost_GatewayOwnPaths_GoToThePodNotTheGateway()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        await new SessionSeed(redis).WriteAsync(sessionId, user, pod.Url);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var cookie = await gateway.SignInAsync(gateway.HostUrl(sessionId), gateway.Token(sessionId, user), ct);
        using var client = gateway.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.HostUrl(sessionId, "/api/health"));
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/api/health", EchoServer.Parse(await response.Content.ReadAsStringAsync(ct)).Path);
    }
}
