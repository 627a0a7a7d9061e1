namespace StoryDream.Api.Exports;

/// <summary>
/// An export as stored at <c>projects/{projectId}/exports/{id}</c>. <see cref="Version"/> is the document's update time:
/// the worker writes only over the version it read, so a cancel is never overwritten by a late progress report.
/// <see cref="PodId"/> names the current attempt's render pod (a new one per attempt, so a retry never meets the pod of the
/// attempt it replaces).
/// </summary>
internal sealed record Export(
    string Id,
    string ProjectId,
    string OwnerId,
    string Status,
    int Progress,
    DateTimeOffset LastUpdate,
    string SnapshotId,
    string? Composition,
    string Codec,
    int? Quality,
    long? Size,
    long? DurationMs,
    string? Error,
    int Attempt,
    string? PodId,
    DateTimeOffset CreatedAt,
    DateTimeOffset Version)
{
    /// <summary>Where the finished MP4 lives in Cloud Storage (DESIGN section 10).</summary>
    public static string ObjectName(string projectId, string exportId) => $"assets/{projectId}/exports/{exportId}.mp4";
}
