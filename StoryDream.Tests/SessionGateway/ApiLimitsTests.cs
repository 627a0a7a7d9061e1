using System.Net;
using System.Net.Http.Headers;
using StoryDream.Tests.Api;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

/// <summary>What the gateway enforces on <c>/api/**</c> before the API sees a request.</summary>
public sealed class ApiLimitsTests(TestServers servers)
{
    [Fact(Timeout = 60_000)]
    public async Task ApiPost_ChunkedTwentyMegabytes_413ProblemAndTheApiNeverSeesIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await EchoServer.StartAsync();
        await using var gateway = await StartAsync(api);
        using var client = gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.Url("/api/projects")) { Content = Json(20 * 1024 * 1024) };
        request.Headers.TransferEncodingChunked = true;

        using var response = await client.SendAsync(request, ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Empty(api.Requests);
    }

    [Fact(Timeout = 60_000)]
    public async Task ApiPost_DeclaredLengthOverTheLimit_413Problem()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await EchoServer.StartAsync();
        await using var gateway = await StartAsync(api, maxBodyBytes: 4096);
        using var client = gateway.CreateClient();

        using var response = await client.PostAsync(gateway.Url("/api/projects"), Json(4097), ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Empty(api.Requests);
    }

    [Fact(Timeout = 60_000)]
    public async Task ApiPost_ChunkedWithinTheLimit_Forwarded()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await EchoServer.StartAsync();
        await using var gateway = await StartAsync(api, maxBodyBytes: 4096);
        using var client = gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.Url("/api/projects")) { Content = Json(4096) };
        request.Headers.TransferEncodingChunked = true;

        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/api/projects", Assert.Single(api.Requests).Path);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AssetUpload_OverTheApiLimitWithinTheUploadLimit_Forwarded(bool chunked)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await EchoServer.StartAsync();
        await using var gateway = await StartAsync(api, maxBodyBytes: 4096, maxUploadBytes: 64 * 1024);
        using var client = gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.Url("/api/projects/p1/assets")) { Content = Json(64 * 1024) };
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/api/projects/p1/assets", Assert.Single(api.Requests).Path);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("POST", "/api/projects/p1/assets", 64 * 1024 + 1)]
    [InlineData("PUT", "/api/projects/p1/assets", 4097)]
    [InlineData("POST", "/api/projects/p1/assets/x", 4097)]
    [InlineData("POST", "/api/projects/p1/messages", 4097)]
    public async Task ApiRequest_OverItsLimit_413AndTheUploadLimitOnlyForUploads(string method, string path, int bytes)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await EchoServer.StartAsync();
        await using var gateway = await StartAsync(api, maxBodyBytes: 4096, maxUploadBytes: 64 * 1024);
        using var client = gateway.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), gateway.Url(path)) { Content = Json(bytes) };
        request.Headers.TransferEncodingChunked = true;

        using var response = await client.SendAsync(request, ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Empty(api.Requests);
    }

    [Fact(Timeout = 60_000)]
    public async Task ApiRequest_ForwardedByAKnownProxy_ReachesTheApiWithTheClientsAddress()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var api = await EchoServer.StartAsync();
        await using var trusting = await StartAsync(api);
        await using var distrusting = await StartAsync(api, knownProxies: "10.20.0.0/16");
        using var trustingClient = trusting.CreateClient();
        using var distrustingClient = distrusting.CreateClient();

        using var viaTrusting = new HttpRequestMessage(HttpMethod.Get, trusting.Url("/api/projects"));
        viaTrusting.Headers.Add("X-Forwarded-For", "203.0.113.7");
        using var viaDistrusting = new HttpRequestMessage(HttpMethod.Get, distrusting.Url("/api/projects"));
        viaDistrusting.Headers.Add("X-Forwarded-For", "203.0.113.7");
        var trusted = EchoServer.Parse(await (await trustingClient.SendAsync(viaTrusting, ct)).Content.ReadAsStringAsync(ct));
        var distrusted = EchoServer.Parse(await (await distrustingClient.SendAsync(viaDistrusting, ct)).Content.ReadAsStringAsync(ct));

        Assert.Equal("203.0.113.7", trusted.ForwardedFor);
        // From a connection that is no known proxy, the header is the client's claim: the API is told the connection's address.
        Assert.DoesNotContain("203.0.113.7", distrusted.ForwardedFor, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", distrusted.ForwardedFor, StringComparison.Ordinal);
    }

    private static ByteArrayContent Json(int bytes)
    {
        var body = new byte[bytes];
        Array.Fill(body, (byte)'a');
        "{\"name\":\""u8.CopyTo(body);
        "\"}"u8.CopyTo(body.AsSpan(bytes - 2));
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task<GatewayServer> StartAsync(EchoServer api, long? maxBodyBytes = null, string? knownProxies = null, long? maxUploadBytes = null)
    {
        var settings = new Dictionary<string, string?> { ["services:api:http:0"] = api.Url.ToString().TrimEnd('/') };
        if (maxBodyBytes is { } max) { settings["Gateway:MaxApiRequestBodyBytes"] = max.ToString(System.Globalization.CultureInfo.InvariantCulture); }
        if (maxUploadBytes is { } upload) { settings["Gateway:MaxUploadRequestBodyBytes"] = upload.ToString(System.Globalization.CultureInfo.InvariantCulture); }
        if (knownProxies is not null) { settings["ForwardedHeaders:KnownProxies"] = knownProxies; }
        return GatewayServer.Start(await servers.RedisAsync(), settings);
    }
}
