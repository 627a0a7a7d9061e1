using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.Sessions;
using Gateway = StoryDream.SessionGateway.Program;

namespace StoryDream.Tests.SessionGateway;

/// <summary>
/// The gateway on a real Kestrel on a free loopback port, with its own preview key. Clients connect to that port whatever
/// host name their URL has, so <c>{sessionId}.preview.localhost</c> URLs work as they do in a browser, cookies included.
/// </summary>
internal sealed class GatewayServer : IAsyncDisposable
{
    public const string DefaultPreviewDomain = "preview.localhost";
    private readonly WebApplicationFactory<Gateway> _factory;

    private GatewayServer(WebApplicationFactory<Gateway> factory, int port, PreviewTokens tokens, string previewDomain)
    {
        _factory = factory;
        Port = port;
        Tokens = tokens;
        PreviewDomain = previewDomain;
    }

    public string PreviewDomain { get; }

    public int Port { get; }

    /// <summary>Issues tokens as the API would, with the gateway's key and clock.</summary>
    public PreviewTokens Tokens { get; }

    public IServiceProvider Services => _factory.Services;

    public static GatewayServer Start(string redis, IDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var all = new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = redis,
            ["Sessions:PreviewTokenKey"] = Convert.ToBase64String(key),
            ["Gateway:PreviewDomain"] = DefaultPreviewDomain,
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>()) { all[name] = value; }

        var factory = new WebApplicationFactory<Gateway>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Production");
            foreach (var (name, value) in all) { web.UseSetting(name, value); }
            if (time is not null) { web.ConfigureTestServices(services => services.AddSingleton(time)); }
        });
        factory.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            // The model proxy's internal port, when the settings give one: the proxy answers only there.
            if (all.TryGetValue("ModelProxy:Port", out var proxyPort) && int.TryParse(proxyPort, out var port) && port > 0)
            {
                kestrel.Listen(IPAddress.Loopback, port);
            }
        });
        try
        {
            factory.StartServer();
        }
        catch
        {
            factory.Dispose();
            throw;
        }
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(a => all.GetValueOrDefault("ModelProxy:Port") is not { } proxy || new Uri(a).Port.ToString(System.Globalization.CultureInfo.InvariantCulture) != proxy);
        return new GatewayServer(factory, new Uri(address).Port, new PreviewTokens(key, time ?? TimeProvider.System), all["Gateway:PreviewDomain"]!);
    }

    public Uri HostUrl(string sessionId, string pathAndQuery = "/") => new($"http://{sessionId}.{PreviewDomain}:{Port}{pathAndQuery}");

    public Uri PathUrl(string sessionId, string pathAndQuery = "/") => new($"http://localhost:{Port}/preview/{sessionId}{pathAndQuery}");

    public Uri Url(string pathAndQuery) => new($"http://localhost:{Port}{pathAndQuery}");

    public string Token(string sessionId, string userId) => Tokens.Issue(sessionId, userId, TimeSpan.FromMinutes(5));

    public HttpClient CreateClient(CookieContainer? cookies = null, TimeSpan? timeout = null) =>
        new(Handler(cookies)) { Timeout = timeout ?? TimeSpan.FromSeconds(30) };

    /// <summary>Opens a WebSocket through the gateway; <paramref name="configure"/> may set headers and keep-alive.</summary>
    public async Task<ClientWebSocket> ConnectWebSocketAsync(Uri url, Action<ClientWebSocketOptions>? configure, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        configure?.Invoke(socket.Options);
        using var invoker = new HttpMessageInvoker(Handler(null));
        var ws = new UriBuilder(url) { Scheme = url.Scheme == "https" ? "wss" : "ws" }.Uri;
        await socket.ConnectAsync(ws, invoker, cancellationToken);
        return socket;
    }

    /// <summary>Goes through the <c>sd_token</c> redirect the way a browser does and returns the cookie it got.</summary>
    public async Task<string> SignInAsync(Uri previewUrl, string token, CancellationToken cancellationToken)
    {
        using var client = CreateClient();
        var separator = string.IsNullOrEmpty(previewUrl.Query) ? "?" : "&";
        using var response = await client.GetAsync(new Uri(previewUrl + separator + "sd_token=" + Uri.EscapeDataString(token)), cancellationToken);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        return setCookie[..setCookie.IndexOf(';', StringComparison.Ordinal)];
    }

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();

    private SocketsHttpHandler Handler(CookieContainer? cookies) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = cookies is not null,
        CookieContainer = cookies ?? new CookieContainer(),
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
