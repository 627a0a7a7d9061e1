namespace StoryDream.Snapshots;

public static class SnapshotAuthors
{
    public const string Agent = "agent";
    public const string User = "user";
    public const string System = "system";
    public const string Template = "template";

    public static bool IsValid(string? author) => author is Agent or User or System or Template;
}

public sealed record SnapshotChanges(int Added, int Modified, int Deleted)
{
    public static SnapshotChanges From(TreeDiff diff)
    {
        ArgumentNullException.ThrowIfNull(diff);
        return new(diff.Added.Count, diff.Modified.Count, diff.Deleted.Count);
    }
}

/// <summary>
/// One entry of a project's linear history (<c>projects/{id}/snapshots/{entryId}</c>): the tree
/// <see cref="SnapshotId"/> became the head after <see cref="ParentId"/>. The first time a tree enters a project's
/// history the entry id is the snapshot id (DESIGN's path); a later entry for the same tree (a restore, or a turn
/// that undid its edits) gets <c>{snapshotId}-{random}</c>, so no entry is ever overwritten and the parent chain
/// never loops. Entries are ordered by <see cref="CreatedAt"/>, the database's commit time.
/// </summary>
public sealed record SnapshotEntry(
    string EntryId,
    string SnapshotId,
    string? ParentId,
    string Message,
    string Author,
    DateTimeOffset CreatedAt,
    int FileCount,
    long TotalBytes,
    SnapshotChanges Changes,
    string? MessageId,
    string? TemplateId);

/// <summary>
/// A new head for a project: <see cref="Tree"/> on top of <see cref="ParentId"/>, which must still be the head.
/// <see cref="ParentVersion"/>, when given, is the project document's version at which <see cref="ParentId"/> was
/// read as the head (<see cref="ProjectHead.Version"/> of that very read): the commit then tries without reading first.
/// </summary>
public sealed record SnapshotCommit(
    string ProjectId, string ParentId, SnapshotManifest Tree, string Author, string Message, string? MessageId = null, DateTimeOffset? ParentVersion = null);

/// <summary>A project's head snapshot and the update time of the project document it was read from.</summary>
public sealed record ProjectHead(string SnapshotId, DateTimeOffset Version);

public enum CommitStatus
{
    /// <summary>The tree is the new head; <see cref="SnapshotCommitResult.Entry"/> is its history entry.</summary>
    Committed,

    /// <summary>The tree is already the head: nothing was written.</summary>
    Unchanged,

    /// <summary>The head is no longer the parent; <see cref="SnapshotCommitResult.HeadSnapshotId"/> is the head to rebase onto.</summary>
    Conflict,

    /// <summary>The project does not exist or is being deleted.</summary>
    ProjectNotFound,
}

public sealed record SnapshotCommitResult(CommitStatus Status, string? HeadSnapshotId, SnapshotEntry? Entry = null);

/// <summary>Where a history listing continues: the raw commit time and entry id of the last entry returned.</summary>
public sealed record HistoryCursor(string CreatedAt, string EntryId);

public sealed record HistoryPage(IReadOnlyList<SnapshotEntry> Entries, HistoryCursor? Next);
