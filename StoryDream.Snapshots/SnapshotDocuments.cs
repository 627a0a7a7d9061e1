using StoryDream.GoogleCloud.Firestore;

namespace StoryDream.Snapshots;

/// <summary>
/// The Firestore side of snapshots: history entries under <c>projects/{id}/snapshots</c>, and the only two fields of
/// <c>projects/{id}</c> this library reads or writes, <c>headSnapshotId</c> and <c>updatedAt</c> (plus
/// <c>deletedAt</c>, read to refuse commits to a project being deleted). The project document itself belongs to the API.
/// </summary>
public static class SnapshotDocuments
{
    public const string ProjectsCollection = "projects";
    public const string HeadField = "headSnapshotId";
    public const string UpdatedAtField = "updatedAt";
    public const string CreatedAtField = "createdAt";

    public static string Project(string projectId) => $"{ProjectsCollection}/{projectId}";

    public static string Entries(string projectId) => $"{Project(projectId)}/snapshots";

    public static string Entry(string projectId, string entryId) => $"{Entries(projectId)}/{entryId}";

    /// <summary>
    /// The first history entry of a project created from a template, to be committed with the project document:
    /// the project's head is the template's snapshot, so nothing is copied.
    /// </summary>
    public static Write TemplateEntry(string projectId, string templateId, string snapshotId, int fileCount, long totalBytes) =>
        Write.Create(Entry(projectId, snapshotId), new EntryDocument(
                snapshotId, null, $"Created from template {templateId}", SnapshotAuthors.Template, null, fileCount, totalBytes,
                new ChangesDocument(fileCount, 0, 0), null, templateId))
            .WithTransforms(FieldTransform.ServerTimestamp(CreatedAtField));

    /// <summary>
    /// The first history entry of a project forked from another's snapshot, committed with the project document; the
    /// tree's manifest must already be stored under the new project (one object: no file is copied).
    /// </summary>
    public static Write ForkEntry(string projectId, string snapshotId, string message, int fileCount, long totalBytes) =>
        Write.Create(Entry(projectId, snapshotId), new EntryDocument(
                snapshotId, null, message, SnapshotAuthors.System, null, fileCount, totalBytes,
                new ChangesDocument(fileCount, 0, 0), null, null))
            .WithTransforms(FieldTransform.ServerTimestamp(CreatedAtField));

    internal sealed record ChangesDocument(int Added, int Modified, int Deleted);

    /// <summary>A history entry as stored; <see cref="CreatedAt"/> is the commit time, set by the server.</summary>
    internal sealed record EntryDocument(
        string SnapshotId,
        string? ParentId,
        string Message,
        string Author,
        DateTimeOffset? CreatedAt,
        int FileCount,
        long TotalBytes,
        ChangesDocument Changes,
        string? MessageId,
        string? TemplateId)
    {
        public SnapshotEntry ToEntry(string entryId, DateTimeOffset createdAt) => new(
            entryId, SnapshotId, ParentId, Message, Author, CreatedAt ?? createdAt, FileCount, TotalBytes,
            new SnapshotChanges(Changes.Added, Changes.Modified, Changes.Deleted), MessageId, TemplateId);
    }

    /// <summary>The part of <c>projects/{id}</c> that the head transaction reads.</summary>
    internal sealed record ProjectHeadDocument(string? HeadSnapshotId, DateTimeOffset? DeletedAt);
}
