using System.Net;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using StoryDream.SessionGateway.Preview;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

public sealed class SessionActivityTests(TestServers servers)
{
    [Fact]
    public void Touch_WithinInterval_QueuedOncePerSession()
    {
        var time = new FakeTimeProvider();
        var activity = new SessionActivity(time);

        Assert.True(activity.Touch("a"));
        Assert.False(activity.Touch("a"));
        Assert.True(activity.Touch("b"));
        time.Advance(SessionActivity.Interval - TimeSpan.FromMilliseconds(1));
        Assert.False(activity.Touch("a"));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(activity.Touch("a"));

        var queued = new List<ActivityTouch>();
        while (activity.Touches.TryRead(out var touch)) { queued.Add(touch); }
        var start = new FakeTimeProvider().GetUtcNow().ToUnixTimeMilliseconds();
        Assert.Equal([new("a", start), new("b", start), new("a", start + 10_000)], queued);
    }

    [Fact]
    public void Prune_ForgetsOnlySessionsPastTheInterval()
    {
        var time = new FakeTimeProvider();
        var activity = new SessionActivity(time);
        activity.Touch("old");
        time.Advance(TimeSpan.FromSeconds(6));
        activity.Touch("recent");
        time.Advance(TimeSpan.FromSeconds(5));

        activity.Prune();

        Assert.Equal(1, activity.Tracked);
        Assert.False(activity.Touch("recent"));
        Assert.True(activity.Touch("old"));
    }

    [Fact(Timeout = 30_000)]
    public async Task PreviewTraffic_TouchesLastActivityAtMostEveryTenSecondsPerSession()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var t0 = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var pod = await EchoServer.StartAsync();
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var seed = new SessionSeed(redis);
        var (sessionA, sessionB, user) = (SessionSeed.NewId(), SessionSeed.NewId(), SessionSeed.NewId());
        await seed.WriteAsync(sessionA, user, pod.Url, lastActivity: time.GetUtcNow().AddMinutes(-5));
        await seed.WriteAsync(sessionB, user, pod.Url, lastActivity: time.GetUtcNow().AddMinutes(-5));
        await using var gateway = GatewayServer.Start(await servers.RedisAsync(), time: time);
        var cookieA = await gateway.SignInAsync(gateway.HostUrl(sessionA), gateway.Token(sessionA, user), ct);
        var cookieB = await gateway.SignInAsync(gateway.HostUrl(sessionB), gateway.Token(sessionB, user), ct);
        using var client = gateway.CreateClient();

        for (var i = 0; i < 5; i++) { await GetOkAsync(client, gateway.HostUrl(sessionA), cookieA, ct); }
        await SessionSeed.EventuallyAsync(async () => await seed.LastActivityAsync(sessionA) == t0, "the first touch", ct);

        time.Advance(TimeSpan.FromSeconds(5));
        for (var i = 0; i < 5; i++) { await GetOkAsync(client, gateway.HostUrl(sessionA), cookieA, ct); }
        // Touches are written in order by one writer: once B's touch (queued after A's traffic) is in Redis, a touch of
        // A at +5 s would be too.
        await GetOkAsync(client, gateway.HostUrl(sessionB), cookieB, ct);
        await SessionSeed.EventuallyAsync(async () => await seed.LastActivityAsync(sessionB) == t0 + 5_000, "the touch of the other session", ct);
        Assert.Equal(t0, await seed.LastActivityAsync(sessionA));

        time.Advance(TimeSpan.FromSeconds(5));
        await GetOkAsync(client, gateway.HostUrl(sessionA), cookieA, ct);
        await SessionSeed.EventuallyAsync(async () => await seed.LastActivityAsync(sessionA) == t0 + 10_000, "the touch ten seconds later", ct);
    }

    [Fact(Timeout = 30_000)]
    public async Task Touch_OfSessionGoneFromRedis_DoesNotRecreateIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var pod = await EchoServer.StartAsync();
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var seed = new SessionSeed(redis);
        var (goneId, otherId, user) = (SessionSeed.NewId(), SessionSeed.NewId(), SessionSeed.NewId());
        await seed.WriteAsync(goneId, user, pod.Url);
        await seed.WriteAsync(otherId, user, pod.Url, lastActivity: DateTimeOffset.UnixEpoch);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync(), time: time);
        var goneCookie = await gateway.SignInAsync(gateway.HostUrl(goneId), gateway.Token(goneId, user), ct);
        var otherCookie = await gateway.SignInAsync(gateway.HostUrl(otherId), gateway.Token(otherId, user), ct);
        using var client = gateway.CreateClient();
        await GetOkAsync(client, gateway.HostUrl(goneId), goneCookie, ct);

        // No event published: the warm entry serves on after the hash is gone, and its next touch finds nothing to touch.
        await redis.GetDatabase().KeyDeleteAsync(RedisKeys.Session(goneId));
        time.Advance(SessionActivity.Interval);
        await GetOkAsync(client, gateway.HostUrl(goneId), goneCookie, ct);
        await GetOkAsync(client, gateway.HostUrl(otherId), otherCookie, ct);
        await SessionSeed.EventuallyAsync(async () => await seed.LastActivityAsync(otherId) > 0, "the later touch of the other session", ct);

        Assert.False(await redis.GetDatabase().KeyExistsAsync(RedisKeys.Session(goneId)));
    }

    private static async Task GetOkAsync(HttpClient client, Uri url, string cookie, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
