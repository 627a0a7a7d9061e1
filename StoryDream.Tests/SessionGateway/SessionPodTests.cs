using System.Net;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using StackExchange.Redis;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

/// <summary>The gateway in front of a real session pod: Vite's page, modules and HMR socket, by path and by host.</summary>
public sealed partial class SessionPodTests(TestServers servers)
{
    [Fact(Timeout = 300_000)]
    public async Task RealPod_ByPath_ServesPageModulesAndHmrUpdates()
    {
        var ct = TestContext.Current.CancellationToken;
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        await using var pod = await SessionPodProcess.StartAsync($"/preview/{sessionId}/", sessionId, ct);
        await using var gateway = await StartGatewayAsync(pod, sessionId, user);
        var page = gateway.PathUrl(sessionId, "/");
        var cookie = await gateway.SignInAsync(page, gateway.Token(sessionId, user), ct);
        // A cold pod pre-bundles React and Remotion on its first module request: tens of seconds on a busy machine.
        using var client = gateway.CreateClient(timeout: TimeSpan.FromSeconds(150));

        var html = await GetTextAsync(client, page, cookie, ct);
        Assert.Contains($"src=\"/preview/{sessionId}/src/main.tsx\"", html, StringComparison.Ordinal);
        Assert.Contains("createRoot", await GetTextAsync(client, gateway.PathUrl(sessionId, "/src/main.tsx"), cookie, ct), StringComparison.Ordinal);

        // Vite sends updates only for modules in its graph: load the one to edit, as the page would, rather than rely
        // on its pre-transform of imports having reached it on a busy machine.
        Assert.Contains("Title", await GetTextAsync(client, gateway.PathUrl(sessionId, "/src/components/Title.tsx"), cookie, ct), StringComparison.Ordinal);
        using var hmr = await ConnectHmrAsync(gateway, client, gateway.PathUrl(sessionId, "/"), cookie, ct);
        var title = Path.Combine(pod.Workspace, "src", "components", "Title.tsx");
        await File.AppendAllTextAsync(title, "\n// edited through the gateway test\n", ct);
        await ReceiveUntilAsync(hmr, "\"path\":\"/src/components/Title.tsx\"", ct);
    }

    [Fact(Timeout = 300_000)]
    public async Task RealPod_ByHostOfAPublicDomain_ServesPageAndHmrSocketThatViteWouldRefuseUnderThatHost()
    {
        var ct = TestContext.Current.CancellationToken;
        var (sessionId, user) = (SessionSeed.NewId(), SessionSeed.NewId());
        await using var pod = await SessionPodProcess.StartAsync("/", sessionId, ct);
        // Vite's default allowedHosts accepts *.localhost; a real domain passes only because the pod sees its own address.
        await using var gateway = await StartGatewayAsync(pod, sessionId, user, "preview.storydream.test");
        var page = gateway.HostUrl(sessionId);
        var cookie = await gateway.SignInAsync(page, gateway.Token(sessionId, user), ct);
        // A cold pod pre-bundles React and Remotion on its first module request: tens of seconds on a busy machine.
        using var client = gateway.CreateClient(timeout: TimeSpan.FromSeconds(150));

        Assert.Contains("src=\"/src/main.tsx\"", await GetTextAsync(client, page, cookie, ct), StringComparison.Ordinal);

        using var hmr = await ConnectHmrAsync(gateway, client, page, cookie, ct);
        Assert.Equal(WebSocketState.Open, hmr.State);
    }

    [Fact(Timeout = 300_000)]
    public async Task RealPod_OfAnotherSessionOnTheRecordedAddress_RefusesThatSessionsPreviewAndServesOnlyItsOwn()
    {
        var ct = TestContext.Current.CancellationToken;
        var (sessionA, sessionB, user) = (SessionSeed.NewId(), SessionSeed.NewId(), SessionSeed.NewId());
        await using var podOfB = await SessionPodProcess.StartAsync("/", sessionB, ct);
        // Session A's pod died and its address went to B's pod: A's record still names that address, with A's secret.
        await using var gateway = await StartGatewayAsync(podOfB, sessionB, user);
        using (var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync()))
        {
            await new SessionSeed(redis).WriteAsync(sessionA, user, podOfB.PreviewUrl, podSecret: StoryDream.Sessions.PodCredentials.NewPodSecret());
        }
        using var client = gateway.CreateClient(timeout: TimeSpan.FromSeconds(150));

        var cookieOfA = await gateway.SignInAsync(gateway.HostUrl(sessionA), gateway.Token(sessionA, user), ct);
        using var request = new HttpRequestMessage(HttpMethod.Get, gateway.HostUrl(sessionA));
        request.Headers.Add("Cookie", cookieOfA);
        request.Headers.Add("Accept", "text/html,*/*");
        using var refused = await client.SendAsync(request, ct);
        var body = await refused.Content.ReadAsStringAsync(ct);

        // The pod checks the secret only the gateway sends, and A's is not its own: nothing of B's project reaches A's page.
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("pod secret", body, StringComparison.Ordinal);
        Assert.DoesNotContain("main.tsx", body, StringComparison.Ordinal);
        // The same pod under its own session, with its own secret, serves its page.
        var cookieOfB = await gateway.SignInAsync(gateway.HostUrl(sessionB), gateway.Token(sessionB, user), ct);
        Assert.Contains("src=\"/src/main.tsx\"", await GetTextAsync(client, gateway.HostUrl(sessionB), cookieOfB, ct), StringComparison.Ordinal);
    }

    private async Task<GatewayServer> StartGatewayAsync(SessionPodProcess pod, string sessionId, string user, string? previewDomain = null)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        await new SessionSeed(redis).WriteAsync(sessionId, user, pod.PreviewUrl, podSecret: pod.PodSecret);
        var settings = new Dictionary<string, string?>();
        if (previewDomain is not null) { settings["Gateway:PreviewDomain"] = previewDomain; }
        return GatewayServer.Start(await servers.RedisAsync(), settings);
    }

    /// <summary>Opens Vite's HMR socket the way its client does (token from <c>@vite/client</c>, subprotocol vite-hmr).</summary>
    private static async Task<ClientWebSocket> ConnectHmrAsync(GatewayServer gateway, HttpClient client, Uri page, string cookie, CancellationToken cancellationToken)
    {
        var viteClient = await GetTextAsync(client, new Uri(page, "@vite/client"), cookie, cancellationToken);
        var token = WsToken().Match(viteClient);
        Assert.True(token.Success, "the Vite client carries an HMR token");
        var socket = await gateway.ConnectWebSocketAsync(new Uri(page, $"?token={token.Groups[1].Value}"), options =>
        {
            options.AddSubProtocol("vite-hmr");
            options.SetRequestHeader("Cookie", cookie);
            options.SetRequestHeader("Origin", page.GetLeftPart(UriPartial.Authority));
        }, cancellationToken);
        await ReceiveUntilAsync(socket, "\"type\":\"connected\"", cancellationToken);
        return socket;
    }

    private static async Task ReceiveUntilAsync(WebSocket socket, string fragment, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        var seen = new List<string>();
        while (true)
        {
            var message = await EchoServer.ReceiveTextAsync(socket, deadline.Token);
            if (message.Contains(fragment, StringComparison.Ordinal)) { return; }
            seen.Add(message);
            Assert.True(seen.Count < 100, $"no HMR message with {fragment}: {string.Join(" | ", seen)}");
        }
    }

    private static async Task<string> GetTextAsync(HttpClient client, Uri url, string cookie, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("Cookie", cookie);
        request.Headers.Add("Accept", "text/html,*/*");
        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{url}: {(int)response.StatusCode} {body}");
        return body;
    }

    [GeneratedRegex("const wsToken = \"([^\"]+)\"")]
    private static partial Regex WsToken();
}
