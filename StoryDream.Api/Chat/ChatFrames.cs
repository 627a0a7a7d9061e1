using System.Text.Json;
using System.Text.Json.Nodes;
using StoryDream.Api.Messages;
using StoryDream.Sessions;

namespace StoryDream.Api.Chat;

/// <summary>
/// The server-to-client frames of the chat WebSocket (DESIGN section 3), as UTF-8 JSON ready to publish. Messages are
/// serialized exactly as the messages endpoint returns them.
/// </summary>
internal static class ChatFrames
{
    public const string SessionStatus = "session_status";
    public const string MessageSaved = "message_saved";
    public const string AssistantDelta = "assistant_delta";
    public const string AgentAction = "agent_action";
    public const string AssistantComplete = "assistant_complete";
    public const string SnapshotCreated = "snapshot_created";
    public const string Error = "error";

    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    /// <summary><c>starting</c>, <c>ready</c>, <c>stopping</c> or <c>stopped</c> (no session runs).</summary>
    public static byte[] Status(string status) => Serialize(new { type = SessionStatus, status });

    public static byte[] Saved(ChatMessage message, string? clientMessageId) =>
        Serialize(new { type = MessageSaved, message, clientMessageId });

    public static byte[] Delta(string messageId, string text) => Serialize(new { type = AssistantDelta, messageId, text });

    public static byte[] Action(string messageId, MessageAction action) => Serialize(new { type = AgentAction, messageId, action });

    /// <summary>The assistant message as stored when its turn ended: <c>complete</c>, or <c>failed</c> with what it had streamed.</summary>
    public static byte[] Complete(ChatMessage message) => Serialize(new { type = AssistantComplete, message });

    /// <summary>The turn's snapshot, with the pod's files it does not hold and why (absent when every file was saved).</summary>
    public static byte[] Snapshot(string snapshotId, string messageId, IReadOnlyList<SkippedFile>? skipped = null) => skipped is { Count: > 0 }
        ? Serialize(new { type = SnapshotCreated, snapshotId, messageId, skipped })
        : Serialize(new { type = SnapshotCreated, snapshotId, messageId });

    public static byte[] Failure(string code, string detail, string? messageId = null) => Serialize(new { type = Error, code, detail, messageId });

    private static byte[] Serialize<T>(T frame) => JsonSerializer.SerializeToUtf8Bytes(frame, Json);
}

/// <summary>The codes of <c>error</c> frames; clients switch on these.</summary>
internal static class ChatErrorCodes
{
    public const string Busy = "busy";
    public const string BadFrame = "bad_frame";
    public const string Cancelled = "cancelled";
    public const string AgentUnavailable = "agent_unavailable";
    public const string AgentError = "agent_error";
    public const string SessionFailed = "session_failed";
    public const string SyncFailed = "sync_failed";
    public const string TurnTooLarge = "turn_too_large";
    public const string Internal = "internal";
}

/// <summary>A client-to-server frame, checked: <c>user_message</c>, <c>preview_error</c> or <c>cancel</c>.</summary>
internal abstract record ClientFrame
{
    public const int MaxContentLength = 20_000;
    public const int MaxClientMessageIdLength = 128;
    public const int MaxPreviewErrorLength = 8_000;

    /// <summary>The frame, or a <see cref="Invalid"/> that says what is wrong with it.</summary>
    public static ClientFrame Parse(ReadOnlySpan<byte> utf8)
    {
        JsonObject? frame;
        try
        {
            frame = JsonNode.Parse(utf8) as JsonObject;
        }
        catch (JsonException)
        {
            return new Invalid("The frame is not JSON.");
        }
        if (frame is null) { return new Invalid("A frame is a JSON object."); }

        return Text(frame, "type") switch
        {
            "user_message" => ParseUserMessage(frame),
            "preview_error" => ParsePreviewError(frame),
            "cancel" => new Cancel(),
            null => new Invalid("A frame needs a string 'type'."),
            var other => new Invalid($"Unknown frame type '{Truncate(other, 40)}'; expected user_message, preview_error or cancel."),
        };
    }

    private static ClientFrame ParseUserMessage(JsonObject frame)
    {
        var content = Text(frame, "content");
        if (string.IsNullOrWhiteSpace(content)) { return new Invalid("user_message needs a non-empty string 'content'."); }
        if (content.Length > MaxContentLength) { return new Invalid($"'content' is longer than {MaxContentLength} characters."); }
        var clientMessageId = Text(frame, "clientMessageId");
        if (frame["clientMessageId"] is not null && clientMessageId is null) { return new Invalid("'clientMessageId' must be a string."); }
        if (clientMessageId is { Length: > MaxClientMessageIdLength })
        {
            return new Invalid($"'clientMessageId' is longer than {MaxClientMessageIdLength} characters.");
        }
        return new UserMessage(content, clientMessageId);
    }

    private static ClientFrame ParsePreviewError(JsonObject frame)
    {
        var message = Text(frame, "message");
        if (string.IsNullOrWhiteSpace(message)) { return new Invalid("preview_error needs a non-empty string 'message'."); }
        return new PreviewError(Truncate(message, MaxPreviewErrorLength), Text(frame, "stack") is { } stack ? Truncate(stack, MaxPreviewErrorLength) : null);
    }

    private static string? Text(JsonObject frame, string name) =>
        frame[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    public sealed record UserMessage(string Content, string? ClientMessageId) : ClientFrame;

    public sealed record PreviewError(string Message, string? Stack) : ClientFrame;

    public sealed record Cancel : ClientFrame;

    public sealed record Invalid(string Detail) : ClientFrame;
}

/// <summary>
/// What a turn is asked to do. A headless job chooses its message ids itself, so a job resumed after a restart rewrites
/// the same two messages instead of adding more, and marks its message with where it came from.
/// <see cref="AgentFinished"/> is called with the stored assistant message once the agent is done, before the sync.
/// </summary>
internal sealed record TurnRequest(
    string Content, string? ClientMessageId, string? UserMessageId = null, string? AssistantMessageId = null, MessageSource? Source = null,
    Func<ChatMessage, Task>? AgentFinished = null);

/// <summary>
/// How a turn ended: the assistant message as stored, the snapshot of its edits, or the first failure's code and detail.
/// <see cref="Interrupted"/> marks a turn cut short by this process shutting down, not by anything the turn did.
/// </summary>
internal sealed record TurnResult(
    string? SessionId, ChatMessage? Assistant, string? SnapshotId, string? FailureCode, string? FailureDetail, bool Interrupted)
{
    public bool Succeeded => FailureCode is null && SnapshotId is not null && Assistant is { Status: MessageStatuses.Complete };
}
