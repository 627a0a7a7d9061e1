using System.Buffers;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http.HttpResults;
using StoryDream.Api.Auth;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.Api.Sessions;
using StoryDream.Sessions;

namespace StoryDream.Api.Chat;

/// <summary>
/// The chat WebSocket (DESIGN section 3). The socket only carries frames: what a message starts runs as a turn of its
/// own (<see cref="ChatTurns"/>), and what every client sees comes through the <see cref="ChatHub"/>.
/// </summary>
internal static partial class ChatApi
{
    public const string Route = "/api/projects/{id}/chat";
    public const int MaxFrameBytes = 256 * 1024;

    public static WebApplication MapChatApi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        // Map, not MapGet: a WebSocket over HTTP/2 arrives as CONNECT.
        app.Map(Route, ChatAsync).WithTags("Chat").RequireAuthorization();
        app.MapChatTicketApi();
        return app;
    }

    public static async Task<Results<EmptyHttpResult, ProblemHttpResult>> ChatAsync(
        string id, HttpContext context, IProjectStore projects, ChatHub hub, ChatTurns turns, SessionManager sessions,
        ILogger<ChatHub> logger, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, context.User, id, cancellationToken) is not { } project) { return ProjectsApi.NotFound(); }
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return TypedResults.Problem("This route is a WebSocket: connect with a WebSocket client.", statusCode: StatusCodes.Status400BadRequest,
                title: "WebSocket required", type: ProblemTypes.BadRequest);
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await using var client = new ChatClient(socket);
        await using var membership = await hub.JoinAsync(project.Id, client);
        client.Send(ChatFrames.Status(StatusText(await sessions.GetAsync(project.Id))));
        var ownerId = context.User.UserId();
        var buffer = new ArrayBufferWriter<byte>(4 * 1024);
        try
        {
            while (await ReceiveAsync(socket, buffer, cancellationToken) is { } type)
            {
                if (type != WebSocketMessageType.Text)
                {
                    client.Send(ChatFrames.Failure(ChatErrorCodes.BadFrame, "Frames are JSON text."));
                    continue;
                }
                switch (ClientFrame.Parse(buffer.WrittenSpan))
                {
                    case ClientFrame.UserMessage message:
                        if (!await turns.TryStartAsync(project.Id, ownerId, message))
                        {
                            client.Send(ChatFrames.Failure(ChatErrorCodes.Busy, "The agent is still on the previous message; send again when it is done, or cancel it."));
                        }
                        break;
                    case ClientFrame.PreviewError error:
                        await turns.AddPreviewErrorAsync(project.Id, error);
                        break;
                    case ClientFrame.Cancel:
                        await turns.CancelAsync(project.Id);
                        break;
                    case ClientFrame.Invalid invalid:
                        client.Send(ChatFrames.Failure(ChatErrorCodes.BadFrame, invalid.Detail));
                        break;
                }
            }
        }
        catch (FrameTooLargeException)
        {
            await client.CloseAsync(WebSocketCloseStatus.MessageTooBig, $"Frames are at most {MaxFrameBytes} bytes.");
            await DrainUntilClosedAsync(socket);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            LogSocketEnded(logger, project.Id, e.Message);
        }
        return TypedResults.Empty;
    }

    public static string StatusText(SessionRecord? session) => session?.Status switch
    {
        null => "stopped",
        var status => SessionRecord.StatusText(status.Value),
    };

    /// <summary>One whole message into <paramref name="buffer"/>; null when the client closed.</summary>
    private static async Task<WebSocketMessageType?> ReceiveAsync(WebSocket socket, ArrayBufferWriter<byte> buffer, CancellationToken cancellationToken)
    {
        buffer.ResetWrittenCount();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.GetMemory(4 * 1024), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close) { return null; }
            buffer.Advance(result.Count);
            if (buffer.WrittenCount > MaxFrameBytes) { throw new FrameTooLargeException(); }
            if (result.EndOfMessage) { return result.MessageType; }
        }
    }

    /// <summary>
    /// After our close frame, reads and drops what the client still sends until its own close (for a few seconds at most):
    /// a connection closed with unread bytes is reset by the kernel, and the client would never read why it was closed.
    /// </summary>
    private static async Task DrainUntilClosedAsync(WebSocket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var scratch = new byte[16 * 1024];
        try
        {
            while ((await socket.ReceiveAsync(scratch, timeout.Token)).MessageType != WebSocketMessageType.Close) { }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
    }

    private sealed class FrameTooLargeException : Exception;

    [LoggerMessage(EventId = 3401, Level = LogLevel.Debug, Message = "A chat socket of project {ProjectId} ended: {Reason}")]
    private static partial void LogSocketEnded(ILogger logger, string projectId, string reason);
}
