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
    int? TokenCount)
{
    /// <summary>Who sent a user message when it was not the person in the studio: an API client (null for the studio).</summary>
    public MessageSource? Source { get; init; }
}

/// <summary>Where a message came from: <c>api</c> with the API client's id and name (null when a bearer token sent it).</summary>
public sealed record MessageSource(string Kind, string? ClientId, string? ClientName)
{
    public const string Api = "api";
}

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
