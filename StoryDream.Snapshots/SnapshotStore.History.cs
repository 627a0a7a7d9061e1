using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Caching.Memory;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.GoogleCloud.Storage;
using static StoryDream.Snapshots.SnapshotDocuments;

namespace StoryDream.Snapshots;

public sealed partial class SnapshotStore
{
    private const int DeleteBatchSize = 300;
    private const int MaxMessageLength = 2000;
    private const int MaxCommitAttempts = 20;

    public async Task<string?> GetHeadAsync(string projectId, CancellationToken cancellationToken) =>
        (await ReadHeadAsync(projectId, cancellationToken))?.SnapshotId;

    public async Task<ProjectHead?> ReadHeadAsync(string projectId, CancellationToken cancellationToken)
    {
        var project = await _firestore.GetAsync<ProjectHeadDocument>(Project(projectId), cancellationToken);
        return project?.Data is { DeletedAt: null, HeadSnapshotId: { } head } ? new ProjectHead(head, project.UpdateTime) : null;
    }

    public async Task<SnapshotManifest?> ReadTreeAsync(string projectId, string snapshotId, CancellationToken cancellationToken)
    {
        if (!Sha256Hex.IsValid(snapshotId)) { return null; }
        // A tree once in a project's history stays there (entries are never rewritten) until the history is deleted,
        // so a sync or a page of files does not ask Firestore again.
        if (_manifests.TryGetValue(new HistoryKey(projectId, snapshotId), out SnapshotManifest? known)) { return known; }
        // The entry keyed by the snapshot id exists whenever the tree is in the project's history: it is the tree's first entry.
        var first = await _firestore.GetAsync<EntryDocument>(Entry(projectId, snapshotId), cancellationToken);
        if (first is null) { return null; }
        var name = first.Data.TemplateId is { } templateId
            ? SnapshotObjectNames.TemplateManifest(templateId, snapshotId)
            : SnapshotObjectNames.ProjectManifest(projectId, snapshotId);
        var manifest = await ReadManifestAsync(name, snapshotId, cancellationToken)
            ?? throw new InvalidOperationException($"Snapshot {snapshotId} of project {projectId} has a history entry but no manifest at {name}.");
        _manifests.Set(new HistoryKey(projectId, snapshotId), manifest, ManifestCacheEntry);
        return manifest;
    }

    /// <summary>Cache key of a tree known to be in a project's history (beside the trees themselves, keyed by id).</summary>
    private readonly record struct HistoryKey(string ProjectId, string SnapshotId);

    /// <summary>
    /// The entry and the head move in one atomic commit guarded by the project document's update time, a
    /// compare-and-swap: if anything touched the project since it was read (another writer's head above all), nothing is
    /// written and the head is read again. Unlike a locking read-write transaction, a racing writer never waits on
    /// another's locks (the emulator holds them for seconds); it learns at once that it lost and can rebase. A commit
    /// that names the version its parent was read at skips the first read: if the project is still at that version, its
    /// head is the parent; if not, or if the tree was in the history before (its entry id is taken), the precondition
    /// refuses the write and the usual read follows.
    /// </summary>
    public async Task<SnapshotCommitResult> CommitAsync(SnapshotCommit commit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(commit);
        if (!SnapshotAuthors.IsValid(commit.Author)) { throw new ArgumentException($"Unknown author '{commit.Author}'.", nameof(commit)); }
        if (!Sha256Hex.IsValid(commit.ParentId)) { throw new ArgumentException("The parent must be a snapshot id.", nameof(commit)); }
        using var activity = ActivitySource.StartActivity("snapshot.commit");
        activity?.SetTag("storydream.project_id", commit.ProjectId);
        activity?.SetTag("storydream.snapshot_id", commit.Tree.Id);

        var tree = commit.Tree;
        var message = commit.Message.Length > MaxMessageLength ? commit.Message[..MaxMessageLength] : commit.Message;
        EntryDocument? document = null;
        // The same tree as the parent is Unchanged, which only a read can tell from a head that moved meanwhile.
        var knownVersion = tree.Id == commit.ParentId ? null : commit.ParentVersion;
        for (var attempt = 1; ; attempt++)
        {
            DateTimeOffset projectVersion;
            bool treeWasHere;
            if (knownVersion is { } version)
            {
                (projectVersion, treeWasHere) = (version, false);
                knownVersion = null;
            }
            else
            {
                // The entry keyed by the tree id is read with the project, only to learn whether the tree was here before.
                var read = await _firestore.BatchGetAsync<ProjectHeadDocument>([Project(commit.ProjectId), Entry(commit.ProjectId, tree.Id)], cancellationToken);
                if (read[0] is not { Data: { DeletedAt: null, HeadSnapshotId: { } head } } project)
                {
                    return Finish(activity, new(CommitStatus.ProjectNotFound, null));
                }
                if (head == tree.Id) { return Finish(activity, new(CommitStatus.Unchanged, head)); }
                if (head != commit.ParentId) { return Finish(activity, new(CommitStatus.Conflict, head)); }
                (projectVersion, treeWasHere) = (project.UpdateTime, read[1] is not null);
            }

            if (document is null)
            {
                // Counted against the parent; a parent missing from the history (damaged data) counts as empty.
                var parentTree = await ReadTreeAsync(commit.ProjectId, commit.ParentId, cancellationToken) ?? SnapshotManifest.Empty;
                var changes = SnapshotChanges.From(TreeDiff.Compute(parentTree, tree));
                document = new EntryDocument(tree.Id, commit.ParentId, message, commit.Author, null, tree.FileCount, tree.TotalBytes,
                    new ChangesDocument(changes.Added, changes.Modified, changes.Deleted), commit.MessageId, null);
                // The manifest goes first: a head never names a tree whose manifest is missing.
                if (!_manifests.TryGetValue(new ManifestWrittenKey(commit.ProjectId, tree.Id), out _))
                {
                    await PutManifestAsync(commit.ProjectId, tree, cancellationToken);
                }
            }

            // A tree already in the history gets a fresh entry id: entries are never overwritten, so no version is lost.
            var entryId = treeWasHere ? $"{tree.Id}-{Guid.NewGuid():N}" : tree.Id;
            CommitResult written;
            try
            {
                written = await _firestore.CommitAsync(
                [
                    Write.Create(Entry(commit.ProjectId, entryId), document).WithTransforms(FieldTransform.ServerTimestamp(CreatedAtField)),
                    Write.Patch(Project(commit.ProjectId), new Dictionary<string, object?> { [HeadField] = tree.Id, [HeadBytesField] = tree.TotalBytes })
                        .WithPrecondition(Precondition.UpdatedAt(projectVersion))
                        .WithTransforms(FieldTransform.ServerTimestamp(UpdatedAtField)),
                ], cancellationToken);
            }
            catch (FirestoreException e) when (e.Status is FirestoreStatus.FailedPrecondition or FirestoreStatus.AlreadyExists or FirestoreStatus.Aborted
                && attempt < MaxCommitAttempts)
            {
                activity?.AddEvent(new ActivityEvent("snapshot.commit.retry"));
                continue;
            }

            // The entry's time is the value its server-timestamp transform stored, which the commit answers with (it is
            // not the commit time: see CommitResult).
            var createdAt = written.TransformTimes is [[{ } stored], ..]
                ? stored
                : throw new InvalidOperationException("Firestore's commit answer lacks the history entry's server timestamp.");
            _manifests.Set(new HistoryKey(commit.ProjectId, tree.Id), tree, ManifestCacheEntry);
            return Finish(activity, new(CommitStatus.Committed, tree.Id, document.ToEntry(entryId, createdAt)));
        }
    }

    private static SnapshotCommitResult Finish(Activity? activity, SnapshotCommitResult result)
    {
        activity?.SetTag("storydream.commit_status", result.Status.ToString());
        return result;
    }

    public async Task<HistoryPage> ListHistoryAsync(string projectId, int pageSize, HistoryCursor? after, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageSize);
        var query = StructuredQuery.Collection(Entries(projectId))
            .OrderByDescending(CreatedAtField)
            .OrderByDescending(StructuredQuery.DocumentId)
            .Limit(pageSize + 1);
        if (after is not null)
        {
            query = query.StartAfter(ParseCursorTime(after.CreatedAt), new FirestoreReference(Entry(projectId, after.EntryId)));
        }
        var documents = await _firestore.RunQueryAsync<EntryDocument>(query, cancellationToken);
        var entries = documents.Take(pageSize).Select(d => d.Data.ToEntry(d.Id, d.CreateTime)).ToList();
        var next = documents.Count > pageSize ? Cursor(entries[^1]) : null;
        return new HistoryPage(entries, next);
    }

    public async Task DeleteHistoryAsync(string projectId, CancellationToken cancellationToken)
    {
        foreach (var key in _manifests.Keys.Where(k => k is HistoryKey h && h.ProjectId == projectId || k is ManifestWrittenKey w && w.ProjectId == projectId).ToList())
        {
            _manifests.Remove(key);
        }
        while (true)
        {
            var page = await _firestore.ListDocumentsAsync<object>(Entries(projectId), DeleteBatchSize, null, cancellationToken);
            if (page.Documents.Count == 0) { break; }
            await _firestore.CommitAsync(page.Documents.Select(d => Write.Delete(d.Path)), cancellationToken);
        }
        var manifests = await _storage.ListObjectsAsync(Bucket, SnapshotObjectNames.ProjectManifests(projectId))
            .Select(item => item.Name).ToListAsync(cancellationToken);
        await Parallel.ForEachAsync(manifests, new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism, CancellationToken = cancellationToken },
            async (name, ct) => await _storage.DeleteObjectIfPresentAsync(Bucket, name, ct));
    }

    /// <summary>The cursor form of a commit time: round-trip text, exact to the tick.</summary>
    public static HistoryCursor Cursor(SnapshotEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new(entry.CreatedAt.ToString("O", CultureInfo.InvariantCulture), entry.EntryId);
    }

    public static bool IsValidCursor(HistoryCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        var id = cursor.EntryId;
        var validId = id.Length == Sha256Hex.Length ? Sha256Hex.IsValid(id)
            : id.Length == Sha256Hex.Length + 33 && Sha256Hex.IsValid(id[..Sha256Hex.Length]) && id[Sha256Hex.Length] == '-'
              && Guid.TryParseExact(id[(Sha256Hex.Length + 1)..], "N", out _);
        return validId && DateTimeOffset.TryParseExact(cursor.CreatedAt, "O", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
    }

    private static DateTimeOffset ParseCursorTime(string text) =>
        DateTimeOffset.ParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None);

    private static readonly ActivitySource ActivitySource = new("StoryDream.Snapshots");
}
