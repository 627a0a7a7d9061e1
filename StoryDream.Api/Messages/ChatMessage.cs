namespace StoryDream.Api.Messages;

/// <summary>What the agent did in a turn: <c>file_edit</c>, <c>file_create</c>, <c>file_delete</c> or <c>command_run</c>.</summary>
public sealed record MessageAction(string Type, string? FilePath, string? Summary, string? SnapshotId);

/// <summary>A stored chat message (<c>projects/{id}/messages/{messageId}</c>); role user, assistant or system.</summary>
public sealed record ChatMessage(
    string Id,
    string Role,
    string Content,
    string Status,
    IReadOnlyList<MessageAction> Actions,
    DateTimeOffset CreatedAt,
    int? TokenCount);

public static class MessageRoles
{
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string System = "system";
}

public static class MessageStatuses
{
    public const string Complete = "complete";
    public const string Streaming = "streaming";
    public const string Failed = "failed";
}
