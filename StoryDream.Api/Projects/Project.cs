namespace StoryDream.Api.Projects;

internal sealed record VideoSettings(int Width, int Height, int Fps, int DurationInFrames)
{
    public static VideoSettings Default { get; } = new(1920, 1080, 30, 300);
}

/// <summary>
/// A stored project (<c>projects/{id}</c>). <see cref="Version"/> is the document's update time, the ETag; the
/// head is the project's current tree.
/// </summary>
internal sealed record Project(
    string Id,
    string OwnerId,
    string Name,
    string? Description,
    string? TemplateId,
    string HeadSnapshotId,
    VideoSettings VideoSettings,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? LastOpenedAt,
    bool Deleting,
    string Version,
    string? AgentSessionId = null,
    ConversationSummary? ConversationSummary = null);

/// <summary>The chat's running summary (<c>conversationSummary</c>): it covers every message up to <see cref="ThroughMessageId"/>.</summary>
internal sealed record ConversationSummary(string Text, string ThroughMessageId);

/// <summary>What a partial update changes; null leaves a field as it is.</summary>
internal sealed record ProjectChanges(string? Name, string? Description, VideoSettings? VideoSettings);

/// <summary>A project to create, its head already chosen (the template's snapshot).</summary>
internal sealed record NewProject(string Id, string OwnerId, string Name, string? Description, string TemplateId, VideoSettings VideoSettings);

internal static class ProjectIds
{
    public static string New() => Guid.NewGuid().ToString("D");

    /// <summary>Ids are lower-case UUIDs; anything else cannot name a project (and answers 404, not 400).</summary>
    public static bool IsValid(string? id) =>
        id is { Length: 36 } && Guid.TryParseExact(id, "D", out var parsed) && parsed.ToString("D") == id;
}
