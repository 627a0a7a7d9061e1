namespace StoryDream.Snapshots;

/// <summary>
/// Projects' trees and histories: blobs and manifests in Cloud Storage, history entries and the head in Firestore.
/// The sync worker writes through it (<see cref="PutBlobAsync"/> for content its parent tree lacks, then
/// <see cref="CommitAsync"/>); the API reads and restores through it.
/// </summary>
public interface ISnapshotStore
{
    /// <summary>Stores content as <c>blobs/{sha256}</c> unless it is already there (and fresh); returns the hash.</summary>
    Task<string> PutBlobAsync(ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Stores content its writer already names by hash (the sync worker has the pod's manifest): the hash is checked,
    /// and the content uploaded unless it is already there (and fresh); up to 64 KiB it is uploaded without asking.
    /// True when bytes were uploaded.
    /// </summary>
    Task<bool> PutKnownBlobAsync(string sha256, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Copies a blob into <paramref name="destination"/>; the transfer is checked against the object's hash (a
    /// mismatch throws once the bytes are written). Callers that need the content itself check its SHA-256.
    /// </summary>
    Task DownloadBlobAsync(string sha256, Stream destination, CancellationToken cancellationToken);

    /// <summary>
    /// A blob's content, checked to be <paramref name="size"/> bytes that hash to <paramref name="sha256"/>
    /// (<see cref="InvalidManifestException"/> otherwise).
    /// </summary>
    Task<byte[]> ReadBlobAsync(string sha256, long size, CancellationToken cancellationToken);

    Task WriteTemplateAsync(string templateId, IReadOnlyDictionary<string, ReadOnlyMemory<byte>> files, SnapshotManifest manifest, CancellationToken cancellationToken);

    /// <summary>The project's head snapshot id; null when the project does not exist or is being deleted.</summary>
    Task<string?> GetHeadAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>
    /// The head with the version of the project document it was read from, for <see cref="SnapshotCommit.ParentVersion"/>;
    /// null when the project does not exist or is being deleted.
    /// </summary>
    Task<ProjectHead?> ReadHeadAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>The tree of a snapshot in the project's history; null when the project never had it.</summary>
    Task<SnapshotManifest?> ReadTreeAsync(string projectId, string snapshotId, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a tree's manifest ahead of its commit, so the upload can overlap other work; the commit then does not write
    /// it again. A manifest whose commit never comes is harmless: nothing names it, and it is named by its content.
    /// </summary>
    Task PutManifestAsync(string projectId, SnapshotManifest tree, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the manifest (unless <see cref="PutManifestAsync"/> did), then in one atomic commit that requires the head to still be the parent records the history
    /// entry and moves the head. Of writers racing on one parent exactly one commits; the others get
    /// <see cref="CommitStatus.Conflict"/> with the new head, rebase (<see cref="TreeDiff.ApplyTo"/>) and retry.
    /// </summary>
    Task<SnapshotCommitResult> CommitAsync(SnapshotCommit commit, CancellationToken cancellationToken);

    /// <summary>The project's history, newest first.</summary>
    Task<HistoryPage> ListHistoryAsync(string projectId, int pageSize, HistoryCursor? after, CancellationToken cancellationToken);

    /// <summary>Deletes the project's history entries and manifests (blobs stay for the sweep).</summary>
    Task DeleteHistoryAsync(string projectId, CancellationToken cancellationToken);
}
