using System.Net;
using System.Net.WebSockets;
using System.Text;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

public sealed class ApiProxyTests(TestServers servers)
{
    private const string WebOrigin = "http://localhost:5173";

    [Fact(Timeout = 30_000)]
    public async Task ApiRequest_ResolvedThroughServiceDiscovery_ReachesTheApi()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await EchoServer.StartAsync();
        await using var gateway = await StartAsync(api);
        using var client = gateway.CreateClient();

        using var response = await client.GetAsync(gateway.Url("/api/projects?pageSize=5"), ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = EchoServer.Parse(await response.Content.ReadAsStringAsync(ct));
        Assert.Equal("/api/projects", seen.Path);
        Assert.Equal("?pageSize=5", seen.Query);
    }

    [Fact(Timeout = 30_000)]
    public async Task ChatWebSocket_ThroughApiRoute_EchoesBothWays()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await EchoServer.StartAsync();
        await using var gateway = await StartAsync(api);

        using var socket = await gateway.ConnectWebSocketAsync(gateway.Url("/api/projects/p1/chat?ticket=t1"), null, ct);

        var seen = EchoServer.Parse(await EchoServer.ReceiveTextAsync(socket, ct));
        Assert.Equal("/api/projects/p1/chat", seen.Path);
        Assert.Equal("?ticket=t1", seen.Query);
        var frame = "{\"type\":\"user_message\",\"content\":\"make it blue\",\"clientMessageId\":\"c1\"}";
        await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, true, ct);
        Assert.Equal(frame, await EchoServer.ReceiveTextAsync(socket, ct));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, ct);
    }

    [Fact(Timeout = 30_000)]
    public async Task ChatWebSocket_IdlePastShortTimeoutWithPings_StaysOpen()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await EchoServer.StartAsync();
        await using var gateway = await StartAsync(api, webSocketTimeout: "00:00:01");

        using var socket = await gateway.ConnectWebSocketAsync(gateway.Url("/api/projects/p1/chat"), PingEvery(TimeSpan.FromMilliseconds(250)), ct);
        _ = await EchoServer.ReceiveTextAsync(socket, ct);
        // A browser always has a read pending, and .NET handles the pong replies to its pings only inside a read.
        var reply = EchoServer.ReceiveTextAsync(socket, ct);
        await Task.Delay(TimeSpan.FromSeconds(3), ct);

        await socket.SendAsync("still here"u8.ToArray(), WebSocketMessageType.Text, true, ct);
        Assert.Equal("still here", await reply);
    }

    [Fact(Timeout = 30_000)]
    public async Task CorsPreflight_FromConfiguredOrigin_Allowed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await EchoServer.StartAsync();
        await using var gateway = await StartAsync(api);
        using var client = gateway.CreateClient();

        using var preflight = await client.SendAsync(Preflight(gateway, WebOrigin), ct);
        using var other = await client.SendAsync(Preflight(gateway, "http://evil.example"), ct);
        using var actual = new HttpRequestMessage(HttpMethod.Get, gateway.Url("/api/projects/p1"));
        actual.Headers.Add("Origin", WebOrigin);
        using var actualResponse = await client.SendAsync(actual, ct);

        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal(WebOrigin, Assert.Single(preflight.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("authorization", preflight.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal(WebOrigin, Assert.Single(actualResponse.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("ETag", actualResponse.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
        Assert.Single(api.Requests);
    }

    internal static Action<ClientWebSocketOptions> PingEvery(TimeSpan interval) => options =>
    {
        options.KeepAliveInterval = interval;
        // With a timeout set, .NET sends real Ping frames (and expects Pongs) instead of unsolicited Pongs.
        options.KeepAliveTimeout = TimeSpan.FromSeconds(10);
    };

    private static HttpRequestMessage Preflight(GatewayServer gateway, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, gateway.Url("/api/projects"));
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        return request;
    }

    private async Task<GatewayServer> StartAsync(EchoServer api, string? webSocketTimeout = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["services:api:http:0"] = api.Url.ToString().TrimEnd('/'),
            ["Gateway:CorsOrigins"] = $"{WebOrigin}, https://app.example.com",
        };
        if (webSocketTimeout is not null) { settings["Gateway:WebSocketActivityTimeout"] = webSocketTimeout; }
        return GatewayServer.Start(await servers.RedisAsync(), settings);
    }
}
