using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace StoryDream.Tests.SessionGateway;

/// <summary>What the server behind the gateway saw of one request.</summary>
internal sealed record SeenRequest(string Method, string Path, string Query, string Host, string Cookie, string? WebSocketProtocol);

/// <summary>
/// A real Kestrel on a free loopback port standing in for a session pod or the API. HTTP requests get back, as JSON, what
/// the server saw; a WebSocket first receives that JSON, then has every message echoed. It sends no keep-alive frames of
/// its own, so idle-socket tests see only what the client and the gateway do.
/// </summary>
internal sealed class EchoServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EchoServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    /// <summary>Headers added to every HTTP answer, as a pod running user-steered code could send them.</summary>
    public List<KeyValuePair<string, string>> ResponseHeaders { get; } = [];

    public static async Task<EchoServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        EchoServer? server = null;
        app.Run(context => server!.HandleAsync(context));
        await app.StartAsync();
        server = new EchoServer(app, new Uri(app.Urls.Single().Replace("localhost", "127.0.0.1", StringComparison.Ordinal) + "/"));
        return server;
    }

    public static SeenRequest Parse(string json) =>
        JsonSerializer.Deserialize<SeenRequest>(json, JsonSerializerOptions.Web) ?? throw new InvalidOperationException($"Not a seen request: {json}");

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var seen = new SeenRequest(request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "", request.Host.Value ?? "",
            request.Headers.Cookie.ToString(), context.WebSockets.WebSocketRequestedProtocols.FirstOrDefault());
        Requests.Enqueue(seen);
        var json = JsonSerializer.SerializeToUtf8Bytes(seen, JsonSerializerOptions.Web);

        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.ContentType = "application/json";
            context.Response.Headers.ETag = "\"echo\"";
            foreach (var (name, value) in ResponseHeaders) { context.Response.Headers.Append(name, value); }
            await context.Response.Body.WriteAsync(json, context.RequestAborted);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync(seen.WebSocketProtocol);
        await socket.SendAsync(json, WebSocketMessageType.Text, endOfMessage: true, context.RequestAborted);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }
                await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, context.RequestAborted);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The gateway or the client dropped the connection; that is what some tests are about.
        }
    }

    public static async Task<string> ReceiveTextAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var text = new StringBuilder();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, $"Closed: {result.CloseStatus} {result.CloseStatusDescription}");
            }
            text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            if (result.EndOfMessage) { return text.ToString(); }
        }
    }
}
