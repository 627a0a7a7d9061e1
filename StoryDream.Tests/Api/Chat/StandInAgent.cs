using System.Buffers;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Tests.Api.Chat;

/// <summary>
/// An agent that says exactly what a test scripts, raw frames included, in place of a session pod's agent: it proves
/// itself as the session's pod on <c>/health</c> (the session's secret is in its record) and, on <c>/agent</c>, answers
/// the turn's <c>user_message</c> with the scripted frames. A <c>cancel</c> ends the script with the <c>error</c>
/// (<c>cancelled</c>) a pod sends. The session's files stay with its real pod.
/// </summary>
public sealed class StandInAgent : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SessionRecord _session;
    private readonly IReadOnlyList<object> _script;
    private readonly TaskCompletionSource _cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private StandInAgent(WebApplication app, SessionRecord session, IReadOnlyList<object> script)
    {
        _app = app;
        _session = session;
        _script = script;
    }

    /// <summary>A step of the script: wait up to 10 s for the API's <c>cancel</c>, then go on.</summary>
    public static readonly object WaitForCancel = new();

    /// <summary>Whether the API sent <c>cancel</c> during the turn.</summary>
    public bool CancelReceived => _cancelled.Task.IsCompleted;

    /// <summary>A frame to send as given: serialized when it is an object, as raw text when it is a string.</summary>
    private static byte[] Frame(object frame) =>
        frame is string raw ? Encoding.UTF8.GetBytes(raw) : JsonSerializer.SerializeToUtf8Bytes(frame);

    /// <summary>Starts the stand-in and points the session's record at it: the API dials it for the session's next turn.</summary>
    public static async Task<StandInAgent> ReplaceAsync(IConnectionMultiplexer redis, SessionRecord session, IEnumerable<object> frames)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(session);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var agent = new StandInAgent(app, session, [.. frames]);
        app.UseWebSockets();
        app.MapGet("/health", (string? challenge) => Results.Json(new
        {
            status = "ok",
            sessionId = session.SessionId,
            proof = challenge is null ? null : PodIdentity.Proof(session.PodSecret!, session.SessionId, challenge),
        }));
        app.Map("/agent", agent.TalkAsync);
        await app.StartAsync();
        await redis.GetDatabase().HashSetAsync(RedisKeys.Session(session.SessionId), "agentUrl", app.Urls.First() + "/");
        return agent;
    }

    private async Task TalkAsync(HttpContext context)
    {
        if (context.Request.Headers.Authorization != $"Bearer {_session.PodSecret}" || !context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var token = timeout.Token;
        try
        {
            while (await ReceiveAsync(socket, token) is { } frame && (string?)frame["type"] != "user_message") { }
            var listening = ListenForCancelAsync(socket, token);
            foreach (var step in _script)
            {
                if (CancelReceived) { break; }
                if (ReferenceEquals(step, WaitForCancel))
                {
                    await Task.WhenAny(_cancelled.Task, Task.Delay(TimeSpan.FromSeconds(10), token));
                    continue;
                }
                await socket.SendAsync(Frame(step), WebSocketMessageType.Text, endOfMessage: true, token);
            }
            // Like a pod, a cancelled turn ends with error 'cancelled'; an uncancelled one with what the script says.
            await Task.WhenAny(_cancelled.Task, listening);
            if (CancelReceived)
            {
                await socket.SendAsync(Frame(new { type = "error", code = "cancelled", detail = "the turn was cancelled" }),
                    WebSocketMessageType.Text, endOfMessage: true, token);
            }
            await listening;
            if (socket.State == WebSocketState.CloseReceived) { await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, token); }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The API closed the turn's socket.
        }
    }

    private async Task ListenForCancelAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        while (await ReceiveAsync(socket, cancellationToken) is { } frame)
        {
            if ((string?)frame["type"] == "cancel") { _cancelled.TrySetResult(); }
        }
    }

    private static async Task<JsonObject?> ReceiveAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.GetMemory(8192), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close) { return null; }
            buffer.Advance(result.Count);
            if (result.EndOfMessage) { return JsonNode.Parse(buffer.WrittenSpan)?.AsObject(); }
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
