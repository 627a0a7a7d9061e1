using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

public sealed class StudioServingTests(TestServers servers) : IAsyncLifetime
{
    private const string Index = "<!doctype html><title>StoryDream</title><div id=root></div>";
    private static readonly string Script = "console.log('studio');" + new string(' ', 4000) + "export {};";
    private readonly DirectoryInfo _dist = Directory.CreateTempSubdirectory("sd-studio-");
    private EchoServer? _api;
    private GatewayServer? _gateway;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private GatewayServer Gateway => _gateway!;

    public async ValueTask InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_dist.FullName, "index.html"), Index, Ct);
        Directory.CreateDirectory(Path.Combine(_dist.FullName, "assets"));
        await File.WriteAllTextAsync(Path.Combine(_dist.FullName, "assets", "index-AbC123.js"), Script, Ct);
        _api = await EchoServer.StartAsync();
        _gateway = GatewayServer.Start(await servers.RedisAsync(), new Dictionary<string, string?>
        {
            ["services:api:http:0"] = _api.Url.ToString().TrimEnd('/'),
            ["Studio:Root"] = _dist.FullName,
            ["Studio:DevSignIn"] = "true",
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_gateway is not null) { await _gateway.DisposeAsync(); }
        if (_api is not null) { await _api.DisposeAsync(); }
        _dist.Delete(recursive: true);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("/")]
    [InlineData("/projects/0b5d3c55-7a43-4f4e-9d6b-1f0e0c7d2a11")]
    [InlineData("/sign-in?returnTo=%2F")]
    public async Task PagePath_AnyClientRoute_IndexHtmlRevalidatedEachLoad(string path)
    {
        using var client = Gateway.CreateClient();

        using var response = await client.GetAsync(Gateway.Url(path), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache, $"Cache-Control: {response.Headers.CacheControl}");
        Assert.Equal(Index, await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact(Timeout = 30_000)]
    public async Task HashedAsset_CachedForAYearAndGzipped()
    {
        using var client = Gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, Gateway.Url("/assets/index-AbC123.js"));
        request.Headers.AcceptEncoding.ParseAdd("gzip");

        using var response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromDays(365), response.Headers.CacheControl?.MaxAge);
        Assert.Contains("immutable", response.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        await using var gzip = new GZipStream(await response.Content.ReadAsStreamAsync(Ct), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        Assert.Equal(Script, await reader.ReadToEndAsync(Ct));
    }

    [Theory(Timeout = 30_000)]
    [InlineData("/assets/index-Gone999.js")]
    [InlineData("/favicon.ico")]
    [InlineData("/robots.txt")]
    public async Task MissingFile_404NotTheApp(string path)
    {
        using var client = Gateway.CreateClient();

        using var response = await client.GetAsync(Gateway.Url(path), Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("StoryDream", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task ApiPaths_StillProxied_NeverTheApp()
    {
        using var client = Gateway.CreateClient();

        using var response = await client.GetAsync(Gateway.Url("/api/no-such-route"), Ct);

        var seen = EchoServer.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("/api/no-such-route", seen.Path);
        Assert.Null(response.Headers.CacheControl);
    }

    [Fact(Timeout = 30_000)]
    public async Task PostToAPagePath_404()
    {
        using var client = Gateway.CreateClient();

        using var response = await client.PostAsync(Gateway.Url("/projects"), new StringContent("x"), Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact(Timeout = 30_000)]
    public async Task RuntimeConfig_FromTheStudioSection_NotCached()
    {
        using var client = Gateway.CreateClient();

        using var response = await client.GetAsync(Gateway.Url("/config.json"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.CacheControl?.NoCache);
        var config = (await response.Content.ReadFromJsonAsync<Dictionary<string, object?>>(Ct))!;
        Assert.Equal("True", config["devSignIn"]?.ToString());
        Assert.Null(config["authority"]);
        Assert.Null(config["clientId"]);
    }
}
