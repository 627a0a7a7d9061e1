using System.Text;
using StoryDream.Snapshots;
using StoryDream.Tests.GoogleCloud.Storage;

namespace StoryDream.Tests.Snapshots;

public sealed class SnapshotStoreTests(SnapshotStoreFixture fixture) : IClassFixture<SnapshotStoreFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SnapshotStore Store => fixture.Store;

    [Fact(Timeout = 60_000)]
    public async Task PutBlob_SameContentTwice_OneContentAddressedObject()
    {
        var content = Encoding.UTF8.GetBytes($"blob {Guid.NewGuid()}");

        var first = await Store.PutBlobAsync(content, Ct);
        var generation = (await fixture.Storage.GetMetadataAsync(fixture.Bucket, $"blobs/{first}", Ct)).Generation;
        var second = await Store.PutBlobAsync(content, Ct);

        Assert.Equal(Sha256Hex.Of(content), first);
        Assert.Equal(first, second);
        // Already there and fresh: not written again.
        Assert.Equal(generation, (await fixture.Storage.GetMetadataAsync(fixture.Bucket, $"blobs/{first}", Ct)).Generation);
        using var read = new MemoryStream();
        await Store.DownloadBlobAsync(first, read, Ct);
        Assert.Equal(content, read.ToArray());
    }

    [Fact(Timeout = 60_000)]
    public async Task ReadBlob_StoredContentIntact_ReturnsIt()
    {
        var content = Encoding.UTF8.GetBytes($"blob {Guid.NewGuid()}");
        var sha256 = await Store.PutBlobAsync(content, Ct);

        Assert.Equal(content, await Store.ReadBlobAsync(sha256, content.Length, Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task ReadBlob_ContentNotHashingToItsName_Refused()
    {
        var sha256 = Sha256Hex.Of(Encoding.UTF8.GetBytes($"expected {Guid.NewGuid()}"));
        var other = Encoding.UTF8.GetBytes($"replaced {Guid.NewGuid()}");
        using var source = new MemoryStream(other);
        await fixture.Storage.UploadObjectAsync(fixture.Bucket, SnapshotObjectNames.Blob(sha256), "application/octet-stream", source, cancellationToken: Ct);

        var error = await Assert.ThrowsAsync<InvalidManifestException>(() => Store.ReadBlobAsync(sha256, other.Length, Ct));

        Assert.Contains("does not hash to its name", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidManifestException>(() => Store.ReadBlobAsync(sha256, other.Length + 1, Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task WriteTemplate_Twice_Idempotent()
    {
        await fixture.CreateProjectAsync();
        var name = SnapshotObjectNames.TemplateManifest(SnapshotStoreFixture.TemplateId, fixture.Template.Id);
        var generation = (await fixture.Storage.GetMetadataAsync(fixture.Bucket, name, Ct)).Generation;

        await fixture.CreateProjectAsync();

        Assert.Equal(generation, (await fixture.Storage.GetMetadataAsync(fixture.Bucket, name, Ct)).Generation);
    }

    [Fact(Timeout = 60_000)]
    public async Task Commit_OnHead_MovesHeadWritesCanonicalManifestAndEntry()
    {
        var projectId = await fixture.CreateProjectAsync();
        var tree = await fixture.WithFilesAsync(fixture.Template, ("src/App.tsx", "changed"), ("src/new.ts", "new"));

        var result = await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, tree, SnapshotAuthors.Agent, "turn 1", "m-1"), Ct);

        Assert.Equal(CommitStatus.Committed, result.Status);
        Assert.Equal(tree.Id, await Store.GetHeadAsync(projectId, Ct));
        var entry = result.Entry!;
        Assert.Equal((tree.Id, tree.Id, fixture.Template.Id, "turn 1", "m-1"), (entry.EntryId, entry.SnapshotId, entry.ParentId, entry.Message, entry.MessageId));
        Assert.Equal(new SnapshotChanges(1, 1, 0), entry.Changes);
        Assert.Equal((tree.FileCount, tree.TotalBytes), (entry.FileCount, entry.TotalBytes));
        using var manifest = new MemoryStream();
        await fixture.Storage.DownloadAsync(fixture.Bucket, SnapshotObjectNames.ProjectManifest(projectId, tree.Id), manifest, Ct);
        Assert.Equal(tree.CanonicalJson, manifest.ToArray());
        Assert.Equal(tree.Entries, (await Store.ReadTreeAsync(projectId, tree.Id, Ct))!.Entries);
        var history = await Store.ListHistoryAsync(projectId, 10, null, Ct);
        Assert.Equal(entry, history.Entries[0]);
    }

    /// <summary>
    /// The entry a commit returns carries the time the database stored (taken from the commit's answer, not read back):
    /// the history and the stored field give the very same instant, so a cursor made from it pages exactly.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Commit_SeveralInARow_EntriesEqualTheStoredOnes()
    {
        var projectId = await fixture.CreateProjectAsync();
        var committed = new List<SnapshotEntry>();
        var parent = fixture.Template;
        for (var i = 0; i < 4; i++)
        {
            var tree = await fixture.WithFilesAsync(parent, ($"src/f{i}.ts", $"{i}"));
            var head = await Store.ReadHeadAsync(projectId, Ct);
            // Half of them name the version their parent was read at, half let the commit read it.
            var result = await Store.CommitAsync(
                new SnapshotCommit(projectId, parent.Id, tree, SnapshotAuthors.Agent, $"turn {i}", ParentVersion: i % 2 == 0 ? head!.Version : null), Ct);
            Assert.Equal(CommitStatus.Committed, result.Status);
            committed.Add(result.Entry!);
            parent = tree;
        }

        var history = (await Store.ListHistoryAsync(projectId, 10, null, Ct)).Entries;
        Assert.Equal(Enumerable.Reverse(committed), history.Take(4));
        foreach (var entry in committed)
        {
            var raw = await fixture.Firestore.GetAsync<StoredTime>(SnapshotDocuments.Entry(projectId, entry.EntryId), Ct);
            Assert.Equal(raw!.Data.CreatedAt, entry.CreatedAt);
        }
        var page = await Store.ListHistoryAsync(projectId, 2, SnapshotStore.Cursor(committed[2]), Ct);
        Assert.Equal([committed[1], committed[0]], page.Entries);
    }

    [Fact(Timeout = 60_000)]
    public async Task Commit_ParentVersionStaleButHeadStill_Committed()
    {
        var projectId = await fixture.CreateProjectAsync();
        var head = (await Store.ReadHeadAsync(projectId, Ct))!;
        // The API touches the project document for its own reasons; the head stays.
        await fixture.Firestore.PatchAsync(SnapshotDocuments.Project(projectId), new Dictionary<string, object?> { ["agentSessionId"] = "a-1" }, cancellationToken: Ct);
        var tree = await fixture.WithFilesAsync(fixture.Template, ("src/a.ts", "a"));

        var result = await Store.CommitAsync(new SnapshotCommit(projectId, head.SnapshotId, tree, SnapshotAuthors.Agent, "x", ParentVersion: head.Version), Ct);

        Assert.Equal(CommitStatus.Committed, result.Status);
        Assert.Equal(tree.Id, await Store.GetHeadAsync(projectId, Ct));
        Assert.Equal(tree.Id, result.Entry!.EntryId);
    }

    [Fact(Timeout = 60_000)]
    public async Task Commit_ParentVersionStaleHeadMoved_ConflictAndNothingRecorded()
    {
        var projectId = await fixture.CreateProjectAsync();
        var head = (await Store.ReadHeadAsync(projectId, Ct))!;
        var first = await fixture.WithFilesAsync(fixture.Template, ("src/a.ts", "a"));
        var late = await fixture.WithFilesAsync(fixture.Template, ("src/b.ts", "b"));
        await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, first, SnapshotAuthors.Agent, "first"), Ct);

        var result = await Store.CommitAsync(new SnapshotCommit(projectId, head.SnapshotId, late, SnapshotAuthors.Agent, "late", ParentVersion: head.Version), Ct);

        Assert.Equal(new SnapshotCommitResult(CommitStatus.Conflict, first.Id), result);
        Assert.Equal(2, (await Store.ListHistoryAsync(projectId, 10, null, Ct)).Entries.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Commit_ParentVersionAndTreeSeenBefore_FreshEntryId()
    {
        var projectId = await fixture.CreateProjectAsync();
        var edited = await fixture.WithFilesAsync(fixture.Template, ("src/a.ts", "a"));
        await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, edited, SnapshotAuthors.Agent, "edit"), Ct);
        var head = (await Store.ReadHeadAsync(projectId, Ct))!;

        var undo = await Store.CommitAsync(new SnapshotCommit(projectId, edited.Id, fixture.Template, SnapshotAuthors.Agent, "undo", ParentVersion: head.Version), Ct);

        Assert.Equal(CommitStatus.Committed, undo.Status);
        Assert.StartsWith(fixture.Template.Id + "-", undo.Entry!.EntryId, StringComparison.Ordinal);
        Assert.Equal(["undo", "edit", $"Created from template {SnapshotStoreFixture.TemplateId}"],
            (await Store.ListHistoryAsync(projectId, 10, null, Ct)).Entries.Select(e => e.Message));
    }

    [Fact(Timeout = 60_000)]
    public async Task Commit_ParentVersionOfProjectBeingDeleted_ProjectNotFound()
    {
        var projectId = await fixture.CreateProjectAsync();
        var head = (await Store.ReadHeadAsync(projectId, Ct))!;
        await fixture.Firestore.PatchAsync(SnapshotDocuments.Project(projectId), new Dictionary<string, object?> { ["deletedAt"] = DateTimeOffset.UtcNow }, cancellationToken: Ct);
        var tree = await fixture.WithFilesAsync(fixture.Template, ("src/a.ts", "a"));

        var result = await Store.CommitAsync(new SnapshotCommit(projectId, head.SnapshotId, tree, SnapshotAuthors.Agent, "x", ParentVersion: head.Version), Ct);

        Assert.Equal(CommitStatus.ProjectNotFound, result.Status);
        Assert.Null(await Store.ReadHeadAsync(projectId, Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task PutManifest_BeforeCommit_CommitWritesItNoMore()
    {
        var projectId = await fixture.CreateProjectAsync();
        var tree = await fixture.WithFilesAsync(fixture.Template, ("src/a.ts", $"a {Guid.NewGuid()}"));
        var name = SnapshotObjectNames.ProjectManifest(projectId, tree.Id);

        await Store.PutManifestAsync(projectId, tree, Ct);
        var generation = (await fixture.Storage.GetMetadataAsync(fixture.Bucket, name, Ct)).Generation;
        var result = await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, tree, SnapshotAuthors.Agent, "x"), Ct);

        Assert.Equal(CommitStatus.Committed, result.Status);
        Assert.Equal(generation, (await fixture.Storage.GetMetadataAsync(fixture.Bucket, name, Ct)).Generation);
        using var manifest = new MemoryStream();
        await fixture.Storage.DownloadAsync(fixture.Bucket, name, manifest, Ct);
        Assert.Equal(tree.CanonicalJson, manifest.ToArray());
    }

    [Fact(Timeout = 60_000)]
    public async Task Commit_StaleParent_ConflictNamingHeadAndNothingRecorded()
    {
        var projectId = await fixture.CreateProjectAsync();
        var first = await fixture.WithFilesAsync(fixture.Template, ("src/a.ts", "a"));
        var late = await fixture.WithFilesAsync(fixture.Template, ("src/b.ts", "b"));
        await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, first, SnapshotAuthors.Agent, "first"), Ct);

        var result = await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, late, SnapshotAuthors.Agent, "late"), Ct);

        Assert.Equal(new SnapshotCommitResult(CommitStatus.Conflict, first.Id), result);
        Assert.Equal(2, (await Store.ListHistoryAsync(projectId, 10, null, Ct)).Entries.Count);
        Assert.Null(await Store.ReadTreeAsync(projectId, late.Id, Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Commit_TreeIsHead_Unchanged()
    {
        var projectId = await fixture.CreateProjectAsync();

        var result = await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, fixture.Template, SnapshotAuthors.Agent, "noop"), Ct);

        Assert.Equal(CommitStatus.Unchanged, result.Status);
        Assert.Single((await Store.ListHistoryAsync(projectId, 10, null, Ct)).Entries);
    }

    [Fact(Timeout = 60_000)]
    public async Task Commit_TreeSeenBefore_NewEntryEarlierOnesKept()
    {
        var projectId = await fixture.CreateProjectAsync();
        var edited = await fixture.WithFilesAsync(fixture.Template, ("src/a.ts", "a"));
        await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, edited, SnapshotAuthors.Agent, "edit"), Ct);

        var undo = await Store.CommitAsync(new SnapshotCommit(projectId, edited.Id, fixture.Template, SnapshotAuthors.Agent, "undo"), Ct);
        var redo = await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, edited, SnapshotAuthors.Agent, "redo"), Ct);

        Assert.Equal(CommitStatus.Committed, undo.Status);
        Assert.Equal(CommitStatus.Committed, redo.Status);
        var history = (await Store.ListHistoryAsync(projectId, 10, null, Ct)).Entries;
        Assert.Equal(["redo", "undo", "edit", $"Created from template {SnapshotStoreFixture.TemplateId}"], history.Select(e => e.Message));
        Assert.Equal(4, history.Select(e => e.EntryId).Distinct().Count());
        Assert.StartsWith(fixture.Template.Id + "-", undo.Entry!.EntryId, StringComparison.Ordinal);
        AssertLinear(history);
    }

    [Fact(Timeout = 60_000)]
    public async Task Commit_ProjectMissingOrBeingDeleted_ProjectNotFound()
    {
        var projectId = await fixture.CreateProjectAsync();
        var tree = await fixture.WithFilesAsync(fixture.Template, ("src/a.ts", "a"));
        await fixture.Firestore.PatchAsync(SnapshotDocuments.Project(projectId), new Dictionary<string, object?> { ["deletedAt"] = DateTimeOffset.UtcNow }, cancellationToken: Ct);

        var deleting = await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, tree, SnapshotAuthors.Agent, "x"), Ct);
        var missing = await Store.CommitAsync(new SnapshotCommit(Guid.NewGuid().ToString("D"), fixture.Template.Id, tree, SnapshotAuthors.Agent, "x"), Ct);

        Assert.Equal(CommitStatus.ProjectNotFound, deleting.Status);
        Assert.Equal(CommitStatus.ProjectNotFound, missing.Status);
        Assert.Null(await Store.GetHeadAsync(projectId, Ct));
    }

    /// <summary>
    /// Writers that all start from the same head and each add their own file: exactly one wins each round, every loser
    /// rebases onto the new head and retries, and the result is one linear history holding every change.
    /// </summary>
    [Fact(Timeout = 300_000)]
    public async Task Commit_ManyWritersOnOneParent_OneLinearHistoryWithEveryChange()
    {
        const int writers = 12;
        var projectId = await fixture.CreateProjectAsync();
        var start = fixture.Template;
        var conflicts = 0;

        await Task.WhenAll(Enumerable.Range(0, writers).Select(i => Task.Run(async () =>
        {
            var parent = start;
            var mine = await fixture.WithFilesAsync(parent, ($"src/writer{i}.ts", $"export const w = {i};"));
            var change = TreeDiff.Compute(parent, mine);
            while (true)
            {
                var result = await Store.CommitAsync(new SnapshotCommit(projectId, parent.Id, mine, SnapshotAuthors.Agent, $"writer {i}"), Ct);
                if (result.Status == CommitStatus.Committed) { return; }
                Assert.Equal(CommitStatus.Conflict, result.Status);
                Interlocked.Increment(ref conflicts);
                parent = (await Store.ReadTreeAsync(projectId, result.HeadSnapshotId!, Ct))!;
                mine = change.ApplyTo(parent);
            }
        }, Ct)));

        var head = (await Store.ReadTreeAsync(projectId, (await Store.GetHeadAsync(projectId, Ct))!, Ct))!;
        Assert.Equal(fixture.Template.FileCount + writers, head.FileCount);
        Assert.All(Enumerable.Range(0, writers), i => Assert.True(head.Contains($"src/writer{i}.ts")));
        var history = (await Store.ListHistoryAsync(projectId, 100, null, Ct)).Entries;
        Assert.Equal(writers + 1, history.Count);
        Assert.Equal(head.Id, history[0].SnapshotId);
        AssertLinear(history);
        Assert.All(history.Take(writers), e => Assert.Equal(new SnapshotChanges(1, 0, 0), e.Changes));
        Assert.True(conflicts > 0, "The writers never raced; the test proves nothing.");
    }

    [Fact(Timeout = 60_000)]
    public async Task ReadTree_SnapshotOfAnotherProject_Null()
    {
        var mine = await fixture.CreateProjectAsync();
        var theirs = await fixture.CreateProjectAsync();
        var tree = await fixture.WithFilesAsync(fixture.Template, ("src/theirs.ts", "t"));
        await Store.CommitAsync(new SnapshotCommit(theirs, fixture.Template.Id, tree, SnapshotAuthors.Agent, "t"), Ct);

        // Read by its own project first, so the tree is cached: the cache must not hand it to another project.
        Assert.NotNull(await Store.ReadTreeAsync(theirs, tree.Id, Ct));
        Assert.Null(await Store.ReadTreeAsync(mine, tree.Id, Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task DeleteHistory_RemovesEntriesAndManifests_KeepsBlobsAndTemplate()
    {
        var projectId = await fixture.CreateProjectAsync();
        var tree = await fixture.WithFilesAsync(fixture.Template, ("src/gone.ts", $"gone {Guid.NewGuid()}"));
        await Store.CommitAsync(new SnapshotCommit(projectId, fixture.Template.Id, tree, SnapshotAuthors.Agent, "x"), Ct);

        Assert.NotNull(await Store.ReadTreeAsync(projectId, tree.Id, Ct));

        await Store.DeleteHistoryAsync(projectId, Ct);

        Assert.Null(await Store.ReadTreeAsync(projectId, tree.Id, Ct));
        Assert.Empty((await fixture.Firestore.ListDocumentsAsync<object>(SnapshotDocuments.Entries(projectId), cancellationToken: Ct)).Documents);
        Assert.Empty(await fixture.Storage.ListAsync(fixture.Bucket, SnapshotObjectNames.ProjectManifests(projectId), Ct).ToListAsync(Ct));
        Assert.True(await fixture.Storage.ExistsAsync(fixture.Bucket, SnapshotObjectNames.Blob(tree.Find("src/gone.ts")!.Sha256), Ct));
        Assert.True(await fixture.Storage.ExistsAsync(fixture.Bucket, SnapshotObjectNames.TemplateManifest(SnapshotStoreFixture.TemplateId, fixture.Template.Id), Ct));
    }

    [Fact(Timeout = 60_000)]
    public void Cursor_RoundTrips_AndTamperedCursorsAreInvalid()
    {
        var entry = new SnapshotEntry(new string('a', 64) + "-" + Guid.NewGuid().ToString("N"), new string('a', 64), null, "m", "agent",
            DateTimeOffset.UtcNow, 1, 1, new SnapshotChanges(1, 0, 0), null, null);

        Assert.True(SnapshotStore.IsValidCursor(SnapshotStore.Cursor(entry)));
        Assert.False(SnapshotStore.IsValidCursor(new HistoryCursor("yesterday", entry.EntryId)));
        Assert.False(SnapshotStore.IsValidCursor(new HistoryCursor(SnapshotStore.Cursor(entry).CreatedAt, "../../x")));
    }

    /// <summary>Newest first: each entry's parent is the tree of the entry after it, and times strictly fall.</summary>
    private static void AssertLinear(IReadOnlyList<SnapshotEntry> history)
    {
        for (var i = 0; i < history.Count - 1; i++)
        {
            Assert.Equal(history[i + 1].SnapshotId, history[i].ParentId);
            Assert.True(history[i].CreatedAt > history[i + 1].CreatedAt, $"Entry {i} is not newer than entry {i + 1}.");
        }
        Assert.Null(history[^1].ParentId);
    }

    /// <summary>The stored <c>createdAt</c> field of an entry, read as the database holds it.</summary>
    private sealed record StoredTime(DateTimeOffset CreatedAt);
}
