using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

using StoryDream.Bench;

namespace SessionsBench;

/// <summary>
/// A WebSocket tap in front of a pod's agent: whoever connects to it (the API, or this benchmark playing the API) is
/// joined to the pod's <c>/agent</c>, and every <c>assistant_delta</c> the pod sends is stamped the moment it arrives
/// here, before it goes on. A delta's relay time is then its arrival at the client minus that stamp. The tap's own
/// forwarding is inside every figure, on both sides of the comparison. The API proves the pod through the tap's
/// <c>/health</c>, which the tap passes on to the pod, and the tap dials the pod with the session's pod secret.
/// </summary>
internal sealed class AgentTap : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _http = new();

    private AgentTap(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public Uri? PodAgentUrl { get; set; }

    public string? PodSecret { get; set; }

    public ConcurrentDictionary<string, long> Stamps { get; } = new(StringComparer.Ordinal);

    public static async Task<AgentTap> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var port = ServerProcess.FreePort();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var tap = new AgentTap(app, new Uri($"http://127.0.0.1:{port}/"));
        app.UseWebSockets();
        app.Map("/agent", tap.JoinAsync);
        app.MapGet("/health", tap.HealthAsync);
        await app.StartAsync();
        return tap;
    }

    private async Task HealthAsync(HttpContext context)
    {
        using var answer = await _http.GetAsync(new Uri(PodAgentUrl!, "health" + context.Request.QueryString), context.RequestAborted);
        context.Response.StatusCode = (int)answer.StatusCode;
        context.Response.ContentType = answer.Content.Headers.ContentType?.ToString();
        await answer.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    private async Task JoinAsync(HttpContext context)
    {
        using var caller = await context.WebSockets.AcceptWebSocketAsync();
        using var pod = new ClientWebSocket();
        pod.Options.SetRequestHeader("Authorization", $"Bearer {PodSecret}");
        await pod.ConnectAsync(new UriBuilder(new Uri(PodAgentUrl!, "agent")) { Scheme = "ws" }.Uri, context.RequestAborted);
        await Task.WhenAny(PumpAsync(caller, pod, stamp: false), PumpAsync(pod, caller, stamp: true));
    }

    private async Task PumpAsync(WebSocket from, WebSocket to, bool stamp)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        try
        {
            while (true)
            {
                buffer.ResetWrittenCount();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await from.ReceiveAsync(buffer.GetMemory(8 * 1024), CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await to.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                        return;
                    }
                    buffer.Advance(result.Count);
                }
                while (!result.EndOfMessage);
                if (stamp)
                {
                    var arrived = Stopwatch.GetTimestamp();
                    if (JsonNode.Parse(buffer.WrittenSpan) is JsonObject { } frame && (string?)frame["type"] == "assistant_delta" && (string?)frame["text"] is { } text)
                    {
                        Stamps[text] = arrived;
                    }
                }
                await to.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            }
        }
        catch (WebSocketException)
        {
            // One side went away; the other pump ends with it.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }
}
