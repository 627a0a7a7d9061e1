using System.Text;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.SyncWorker.Pods;
using StoryDream.SyncWorker.Sync;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

/// <summary>A bad file is reported and left out; it never stops the files beside it, or later syncs, from being saved.</summary>
public sealed class SyncWorkerSkipTests(TestServers servers)
{
    private static readonly Dictionary<string, byte[]> Template = new() { ["src/App.tsx"] = "export {};\n"u8.ToArray() };

    [Fact]
    public async Task Sync_HugeFileAndNfdNameInThePod_EditsSavedAndTheTwoReported()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, _) = await bed.CreateProjectAsync(Template);
        await using var pod = await PodProcess.StartAsync();
        foreach (var (path, content) in Template) { pod.WriteFile(path, content); }
        using (var huge = File.Create(Path.Combine(pod.Workspace, "src", "huge.bin")))
        {
            huge.SetLength(60L * 1024 * 1024);
        }
        const string nfd = "src/cafe\u0301.ts";
        pod.WriteFile(nfd, "export const nfd = 1;\n"u8.ToArray());
        pod.WriteFile("src/first.ts", "export const first = 1;\n"u8.ToArray());
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var first = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);
        var edit = Encoding.UTF8.GetBytes("export const App = () => 'edited';\n");
        pod.WriteFile("src/App.tsx", edit);
        var second = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);

        foreach (var done in new[] { first, second })
        {
            Assert.Equal(SyncEvent.Done, done.Status);
            Assert.Equal(["src/cafe\u0301.ts", "src/huge.bin"], done.Skipped!.Select(s => s.Path).Order(StringComparer.Ordinal));
            Assert.Contains("normalization form C", done.Skipped!.Single(s => s.Path == nfd).Reason, StringComparison.Ordinal);
            Assert.Contains("62914560 bytes", done.Skipped!.Single(s => s.Path == "src/huge.bin").Reason, StringComparison.Ordinal);
        }
        var saved = await bed.ReadSnapshotFilesAsync(projectId, second.SnapshotId!);
        Assert.Equal(["src/App.tsx", "src/first.ts"], saved.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(edit, saved["src/App.tsx"]);
        Assert.Equal(second.SnapshotId, await bed.Store.GetHeadAsync(projectId, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Admit_SkippedFileSavedBefore_KeepsItsSavedVersion()
    {
        var head = Manifest(("src/video.mp4", "old", 10), ("src/a.ts", "a", 1));
        var pod = new PodTree(Manifest(("src/a.ts", "a2", 2)), [new SkippedFile("src/video.mp4", "too big")]);

        var (tree, skipped) = SnapshotSync.Admit(head, pod, long.MaxValue);

        Assert.Equal(head.Find("src/video.mp4"), tree.Find("src/video.mp4"));
        Assert.Equal(Hash("a2"), tree.Find("src/a.ts")!.Sha256);
        Assert.Equal(["src/video.mp4"], skipped.Select(s => s.Path));
    }

    [Fact]
    public void Admit_TreeOverTheProjectLimit_LargestGrowthLeftOutUntilItFits()
    {
        var head = Manifest(("src/keep.ts", "k", 40), ("src/grow.ts", "g", 10));
        var pod = new PodTree(Manifest(("src/keep.ts", "k", 40), ("src/grow.ts", "g2", 50), ("src/new-small.ts", "s", 5), ("src/new-big.ts", "b", 45)), []);
        // 140 bytes against 100: leaving out the biggest growth (new-big, 45) is enough; grow (+40) and new-small stay.

        var (tree, skipped) = SnapshotSync.Admit(head, pod, 100);

        Assert.True(tree.TotalBytes <= 100);
        Assert.Equal(Hash("g2"), tree.Find("src/grow.ts")!.Sha256);
        Assert.Null(tree.Find("src/new-big.ts"));
        Assert.NotNull(tree.Find("src/new-small.ts"));
        var left = Assert.Single(skipped);
        Assert.Equal("src/new-big.ts", left.Path);
        Assert.Contains("limit of 100 bytes", left.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Admit_NothingLeftOut_IsThePodsTree()
    {
        var pod = new PodTree(Manifest(("src/a.ts", "a", 1)), []);

        Assert.Same(pod.Manifest, SnapshotSync.Admit(SnapshotManifest.Empty, pod, 100).Tree);
    }

    private static string Hash(string seed) => Sha256Hex.Of(Encoding.UTF8.GetBytes(seed));

    private static SnapshotManifest Manifest(params (string Path, string Seed, long Size)[] files) =>
        SnapshotManifest.Create(files.Select(f => new ManifestEntry(f.Path, Hash(f.Seed), f.Size)));
}
