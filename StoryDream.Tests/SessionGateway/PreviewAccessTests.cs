using System.Net;
using System.Security.Cryptography;
using StackExchange.Redis;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

public sealed class PreviewAccessTests(TestServers servers)
{
    [Fact(Timeout = 30_000)]
    public async Task Token_ValidByHost_SetsHostCookieAndRedirectsToCleanUrl()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (sessionId, user) = await SeedAsync(pod);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        using var client = gateway.CreateClient();

        using var response = await client.GetAsync(gateway.HostUrl(sessionId, $"/index.html?a=1&sd_token={gateway.Token(sessionId, user)}&b=2"), ct);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/index.html?a=1&b=2", response.Headers.Location?.OriginalString);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("sd_preview=", setCookie, StringComparison.Ordinal);
        Assert.Contains("; path=/;", setCookie, StringComparison.Ordinal);
        Assert.Contains("; httponly", setCookie, StringComparison.Ordinal);
        Assert.Contains("; samesite=lax", setCookie, StringComparison.Ordinal);
        Assert.DoesNotContain("domain=", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(pod.Requests);
    }

    [Fact(Timeout = 30_000)]
    public async Task Token_SameSiteNone_SecurePartitionedCookieForAStudioOnAnotherSite()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (sessionId, user) = await SeedAsync(pod);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync(), new Dictionary<string, string?> { ["Gateway:PreviewCookieSameSite"] = "None" });
        using var client = gateway.CreateClient();

        using var response = await client.GetAsync(gateway.HostUrl(sessionId, $"/?sd_token={gateway.Token(sessionId, user)}"), ct);

        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.Contains("; secure", setCookie, StringComparison.Ordinal);
        Assert.Contains("; samesite=none", setCookie, StringComparison.Ordinal);
        Assert.Contains("; Partitioned", setCookie, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Cookie_ByPath_ScopedToThatSessionsPath()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var podA = await EchoServer.StartAsync();
        await using var podB = await EchoServer.StartAsync();
        var (sessionA, user) = await SeedAsync(podA);
        var (sessionB, _) = await SeedAsync(podB, user);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var jar = new CookieContainer();
        using var browser = gateway.CreateClient(jar);

        using var signIn = await browser.GetAsync(gateway.PathUrl(sessionA, $"/?sd_token={gateway.Token(sessionA, user)}"), ct);
        Assert.Equal(HttpStatusCode.Found, signIn.StatusCode);
        Assert.Contains($"; path=/preview/{sessionA};", Assert.Single(signIn.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
        Assert.Equal($"/preview/{sessionA}/", signIn.Headers.Location?.OriginalString);

        using var a = await browser.GetAsync(gateway.PathUrl(sessionA, "/src/main.tsx"), ct);
        using var aWithoutSlash = await browser.GetAsync(gateway.PathUrl(sessionA, ""), ct);
        using var b = await browser.GetAsync(gateway.PathUrl(sessionB, "/src/main.tsx"), ct);

        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        Assert.Equal(HttpStatusCode.OK, aWithoutSlash.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, b.StatusCode);
        Assert.Empty(podB.Requests);
    }

    [Fact(Timeout = 30_000)]
    public async Task Cookie_OfOneSessionSentToAnother_Unauthorized()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var podA = await EchoServer.StartAsync();
        await using var podB = await EchoServer.StartAsync();
        var (sessionA, user) = await SeedAsync(podA);
        var (sessionB, _) = await SeedAsync(podB, user);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var cookieA = await gateway.SignInAsync(gateway.HostUrl(sessionA), gateway.Token(sessionA, user), ct);
        using var client = gateway.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.HostUrl(sessionB));
        request.Headers.Add("Cookie", cookieA);
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(podB.Requests);
    }

    [Fact(Timeout = 30_000)]
    public async Task Token_Expired_Unauthorized()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (sessionId, user) = await SeedAsync(pod);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        using var client = gateway.CreateClient();
        var expired = gateway.Tokens.Issue(sessionId, user, TimeSpan.FromSeconds(-1));

        using var response = await client.GetAsync(gateway.HostUrl(sessionId, $"/?sd_token={expired}"), ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Contains("text/html", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        Assert.Empty(pod.Requests);
    }

    [Fact(Timeout = 30_000)]
    public async Task Token_ForAnotherSession_Unauthorized()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (sessionId, user) = await SeedAsync(pod);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        using var client = gateway.CreateClient();

        using var byHost = await client.GetAsync(gateway.HostUrl(sessionId, $"/?sd_token={gateway.Token(SessionSeed.NewId(), user)}"), ct);
        using var byPath = await client.GetAsync(gateway.PathUrl(sessionId, $"/?sd_token={gateway.Token(SessionSeed.NewId(), user)}"), ct);

        Assert.Equal(HttpStatusCode.Unauthorized, byHost.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, byPath.StatusCode);
        Assert.Empty(pod.Requests);
    }

    [Fact(Timeout = 30_000)]
    public async Task Token_Forged_Unauthorized()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (sessionId, user) = await SeedAsync(pod);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        using var client = gateway.CreateClient();
        var otherKey = new PreviewTokens(RandomNumberGenerator.GetBytes(32), TimeProvider.System).Issue(sessionId, user, TimeSpan.FromMinutes(5));
        var genuine = gateway.Token(sessionId, user).Split('.');
        var otherUser = string.Join('.', genuine[0], genuine[1], gateway.Token(sessionId, "someone-else").Split('.')[2], genuine[3], genuine[4]);

        foreach (var forged in new[] { otherKey, otherUser, "v1.x", new string('a', 5000) })
        {
            using var response = await client.GetAsync(gateway.HostUrl(sessionId, $"/?sd_token={Uri.EscapeDataString(forged)}"), ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        Assert.Empty(pod.Requests);
    }

    [Fact(Timeout = 30_000)]
    public async Task Cookie_ForgedOrMissing_Unauthorized()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (sessionId, user) = await SeedAsync(pod);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        using var client = gateway.CreateClient();

        using var none = await client.GetAsync(gateway.HostUrl(sessionId), ct);
        // The API's token is not a cookie: cookies are signed with a key of their own.
        using var tokenAsCookie = new HttpRequestMessage(HttpMethod.Get, gateway.HostUrl(sessionId));
        tokenAsCookie.Headers.Add("Cookie", $"sd_preview={gateway.Token(sessionId, user)}");
        using var tokenAsCookieResponse = await client.SendAsync(tokenAsCookie, ct);

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, tokenAsCookieResponse.StatusCode);
        Assert.Empty(pod.Requests);
    }

    [Fact(Timeout = 30_000)]
    public async Task Token_ForSessionOwnedBySomeoneElse_NotFound()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (sessionId, _) = await SeedAsync(pod);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        using var client = gateway.CreateClient();
        var cookie = await gateway.SignInAsync(gateway.HostUrl(sessionId), gateway.Token(sessionId, SessionSeed.NewId()), ct);

        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.HostUrl(sessionId));
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(pod.Requests);
    }

    [Fact(Timeout = 30_000)]
    public async Task Token_OnWebSocket_AcceptedForThatSocketAndNotForwarded()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (sessionId, user) = await SeedAsync(pod);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());

        using var socket = await gateway.ConnectWebSocketAsync(gateway.HostUrl(sessionId, $"/?token=t&sd_token={gateway.Token(sessionId, user)}"), null, ct);

        var seen = EchoServer.Parse(await EchoServer.ReceiveTextAsync(socket, ct));
        Assert.Equal("?token=t", seen.Query);
    }

    [Fact(Timeout = 30_000)]
    public async Task Token_ExpiredButCookieValid_RedirectsWithoutNewCookie()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (sessionId, user) = await SeedAsync(pod);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var cookie = await gateway.SignInAsync(gateway.HostUrl(sessionId), gateway.Token(sessionId, user), ct);
        using var client = gateway.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.HostUrl(sessionId, $"/?sd_token={gateway.Tokens.Issue(sessionId, user, TimeSpan.FromSeconds(-1))}"));
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/", response.Headers.Location?.OriginalString);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact(Timeout = 30_000)]
    public async Task Token_WithProtocolRelativePath_BadRequestNotAnOpenRedirect()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var pod = await EchoServer.StartAsync();
        var (sessionId, user) = await SeedAsync(pod);
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        using var client = gateway.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.Url($"//evil.example/?sd_token={gateway.Token(sessionId, user)}"));
        request.Headers.Host = $"{sessionId}.{gateway.PreviewDomain}:{gateway.Port}";
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
    }

    private async Task<(string SessionId, string User)> SeedAsync(EchoServer pod, string? user = null)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var (sessionId, owner) = (SessionSeed.NewId(), user ?? SessionSeed.NewId());
        await new SessionSeed(redis).WriteAsync(sessionId, owner, pod.Url);
        return (sessionId, owner);
    }
}
