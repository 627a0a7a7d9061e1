using StoryDream.Snapshots;

namespace StoryDream.Api.Snapshots;

public sealed record ChangeCounts(int Added, int Modified, int Deleted);

/// <summary>
/// One version in a project's history. <see cref="Id"/> is the tree's snapshot id (what restore and <c>?snapshot=</c>
/// take); <see cref="EntryId"/> tells apart two versions with the same tree.
/// </summary>
public sealed record SnapshotResponse(
    string Id,
    string EntryId,
    string? ParentId,
    string Message,
    string Author,
    DateTimeOffset CreatedAt,
    int FileCount,
    long TotalBytes,
    ChangeCounts Changes,
    string? MessageId)
{
    internal static SnapshotResponse From(SnapshotEntry entry) => new(
        entry.SnapshotId, entry.EntryId, entry.ParentId, entry.Message, entry.Author, entry.CreatedAt, entry.FileCount, entry.TotalBytes,
        new ChangeCounts(entry.Changes.Added, entry.Changes.Modified, entry.Changes.Deleted), entry.MessageId);
}

public sealed record FileResponse(string Path, long Size, string Sha256);
