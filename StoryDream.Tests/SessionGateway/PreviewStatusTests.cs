using System.Globalization;
using System.Net;
using StackExchange.Redis;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

public sealed class PreviewStatusTests(TestServers servers)
{
    [Fact(Timeout = 30_000)]
    public async Task UnknownSession_WithValidCookie_NotFound()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        var cookie = await gateway.SignInAsync(gateway.HostUrl(sessionId), gateway.Token(sessionId, user), ct);
        using var client = gateway.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.HostUrl(sessionId));
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task StartingSession_ServiceUnavailableWithRetryAfterAndReloadingPage_ThenForwardsWhenReady()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var seed = new SessionSeed(redis);
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        var record = await seed.WriteAsync(sessionId, user, pod.Url, SessionStatus.Starting);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var cookie = await gateway.SignInAsync(gateway.PathUrl(sessionId, "/"), gateway.Token(sessionId, user), ct);
        using var client = gateway.CreateClient();

        using var starting = await SendAsync(client, gateway.PathUrl(sessionId, "/"), cookie, ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, starting.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), starting.Headers.RetryAfter?.Delta);
        Assert.Contains("http-equiv=\"refresh\"", await starting.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        Assert.Empty(pod.Requests);

        await seed.WriteAsync(sessionId, user, pod.Url, SessionStatus.Ready);
        await seed.PublishAsync(SessionEvent.Ready, record);
        using var ready = await SendAsync(client, gateway.PathUrl(sessionId, "/"), cookie, ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task PodUnreachable_BadGatewayWithPageSayingSo()
    {
        var ct = TestContext.Current.CancellationToken;
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        var closedPort = LauncherProcess.FreePort();
        await new SessionSeed(redis).WriteAsync(sessionId, user, new Uri($"http://127.0.0.1:{closedPort}/"));
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var cookie = await gateway.SignInAsync(gateway.HostUrl(sessionId), gateway.Token(sessionId, user), ct);
        using var client = gateway.CreateClient();

        using var response = await SendAsync(client, gateway.HostUrl(sessionId, "/src/main.tsx"), cookie, ct);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("not reachable", await response.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task DestroyedEvent_DropsTheWarmCacheEntry_ThenNotFound()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var seed = new SessionSeed(redis);
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        var record = await seed.WriteAsync(sessionId, user, pod.Url);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var cookie = await gateway.SignInAsync(gateway.HostUrl(sessionId), gateway.Token(sessionId, user), ct);
        using var client = gateway.CreateClient();
        using (var warm = await SendAsync(client, gateway.HostUrl(sessionId), cookie, ct)) { Assert.Equal(HttpStatusCode.OK, warm.StatusCode); }

        // Without the event the gateway keeps serving from its cache: it does not read Redis on a warm path.
        await redis.GetDatabase().KeyDeleteAsync(RedisKeys.Session(sessionId));
        using (var cached = await SendAsync(client, gateway.HostUrl(sessionId), cookie, ct)) { Assert.Equal(HttpStatusCode.OK, cached.StatusCode); }

        // The subscription starts with the gateway, so the first publish may come before it; publish until it is heard.
        await SessionSeed.EventuallyAsync(async () =>
        {
            await seed.PublishAsync(SessionEvent.Destroyed, record);
            using var response = await SendAsync(client, gateway.HostUrl(sessionId), cookie, ct);
            return response.StatusCode == HttpStatusCode.NotFound;
        }, "the destroyed event to drop the session", ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task RedisStopped_WarmSessionKeepsWorking_ColdSessionUnavailable()
    {
        var ct = TestContext.Current.CancellationToken;
        var ownRedis = await LauncherProcess.StartAsync("bash", ["eng/servers/redis.sh", LauncherProcess.FreePort().ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(30));
        var redisStopped = false;
        try
        {
            await using var pod = await EchoServer.StartAsync();
            var (warmId, coldId, user) = (SessionSeed.NewId(), SessionSeed.NewId(), SessionSeed.NewId());
            using (var redis = await ConnectionMultiplexer.ConnectAsync(ownRedis.Endpoint))
            {
                var seed = new SessionSeed(redis);
                await seed.WriteAsync(warmId, user, pod.Url);
                await seed.WriteAsync(coldId, user, pod.Url);
            }
            await using var gateway = GatewayServer.Start(ownRedis.Endpoint);
            var warmCookie = await gateway.SignInAsync(gateway.HostUrl(warmId), gateway.Token(warmId, user), ct);
            var coldCookie = await gateway.SignInAsync(gateway.HostUrl(coldId), gateway.Token(coldId, user), ct);
            using var client = gateway.CreateClient();
            using (var warm = await SendAsync(client, gateway.HostUrl(warmId), warmCookie, ct)) { Assert.Equal(HttpStatusCode.OK, warm.StatusCode); }

            await ownRedis.DisposeAsync();
            redisStopped = true;

            for (var i = 0; i < 20; i++)
            {
                using var stillServed = await SendAsync(client, gateway.HostUrl(warmId, $"/asset-{i}.js"), warmCookie, ct);
                Assert.Equal(HttpStatusCode.OK, stillServed.StatusCode);
            }
            using var cold = await SendAsync(client, gateway.HostUrl(coldId), coldCookie, ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, cold.StatusCode);
            Assert.NotNull(cold.Headers.RetryAfter);
            Assert.Equal(21, pod.Requests.Count);
        }
        finally
        {
            if (!redisStopped) { await ownRedis.DisposeAsync(); }
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, Uri url, string cookie, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("Cookie", cookie);
        return await client.SendAsync(request, cancellationToken);
    }
}
