using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace StoryDream.Tests.Api.Headless;

/// <summary>A webhook receiver on loopback (Kestrel): records every delivery with its signature header and arrival time.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Received> _received = new();
    private readonly SemaphoreSlim _arrived = new(0, int.MaxValue);

    private WebhookReceiver(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The status the receiver answers with.</summary>
    public int Status { get; set; } = StatusCodes.Status200OK;

    public Uri Url { get; }

    public IReadOnlyCollection<Received> Deliveries => _received;

    /// <summary>Starts on <paramref name="port"/>, or a free port when it is 0.</summary>
    public static async Task<WebhookReceiver> StartAsync(int port = 0, string path = "/hooks")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.MapPost(path, async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            receiver!._received.Enqueue(new Received(body, context.Request.Headers["StoryDream-Signature"].ToString(), Stopwatch.GetTimestamp(), DateTimeOffset.UtcNow));
            receiver._arrived.Release();
            context.Response.StatusCode = receiver.Status;
            await context.Response.WriteAsync($"receiver answered {receiver.Status}", context.RequestAborted);
        });
        await app.StartAsync();
        receiver = new WebhookReceiver(app, new Uri(app.Urls.First() + path));
        return receiver;
    }

    /// <summary>A loopback port nothing listens on (for a receiver that is down, started there later).</summary>
    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>The next delivery of <paramref name="type"/> (including ones that already came).</summary>
    public async Task<Received> WaitForAsync(string type, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_received.FirstOrDefault(r => r.Type == type) is { } found) { return found; }
            await _arrived.WaitAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _arrived.Dispose();
    }

    public sealed record Received(string Body, string Signature, long ArrivedTimestamp, DateTimeOffset ArrivedAt)
    {
        public JsonObject Json => (JsonObject)JsonNode.Parse(Body)!;

        public string? Type => (string?)Json["type"];
    }
}
