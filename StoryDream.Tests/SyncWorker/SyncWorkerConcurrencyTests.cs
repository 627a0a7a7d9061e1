using System.Formats.Tar;
using System.Text;
using Microsoft.AspNetCore.Http;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

public sealed class SyncWorkerConcurrencyTests(TestServers servers)
{
    private static readonly Dictionary<string, byte[]> Template = new() { ["src/App.tsx"] = "export {};\n"u8.ToArray() };

    [Fact]
    public async Task Sync_ManyJobsAcrossTwoWorkers_MakeOneLinearHistoryWithEveryChange()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, templateHead) = await bed.CreateProjectAsync(Template);
        await using var pod = await PodProcess.StartAsync();
        foreach (var (path, content) in Template) { pod.WriteFile(path, content); }
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync("worker-a");
        await bed.StartWorkerAsync("worker-b");

        var jobs = new List<(SyncJob Job, int Turn)>();
        for (var turn = 0; turn < 12; turn++)
        {
            pod.WriteFile($"src/turn{turn}.ts", Encoding.UTF8.GetBytes($"export const turn = {turn};\n"));
            pod.WriteFile("src/App.tsx", Encoding.UTF8.GetBytes($"export const last = {turn};\n"));
            jobs.Add((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId), turn));
            await Task.Delay(Random.Shared.Next(0, 60), TestContext.Current.CancellationToken);
        }
        var events = new List<SyncEvent>();
        foreach (var (job, _) in jobs) { events.Add(await bed.WaitForEventAsync(job.JobId)); }

        Assert.All(events, e => Assert.Equal(SyncEvent.Done, e.Status));
        var history = await bed.HistoryAsync(projectId);
        AssertLinear(history, templateHead);
        Assert.Equal(history[0].SnapshotId, events[^1].SnapshotId);
        SyncWorkerEndToEndTests.AssertSameFiles(pod.ReadFiles(), await bed.ReadSnapshotFilesAsync(projectId, history[0].SnapshotId));
        // Each job's snapshot holds at least the change made before the job was enqueued.
        foreach (var ((_, turn), done) in jobs.Zip(events))
        {
            var tree = await bed.Store.ReadTreeAsync(projectId, done.SnapshotId!, TestContext.Current.CancellationToken);
            Assert.All(Enumerable.Range(0, turn + 1), t => Assert.True(tree!.Contains($"src/turn{t}.ts"), $"turn {t} missing from the snapshot of turn {turn}"));
        }
        Assert.InRange(history.Count, 2, jobs.Count + 1);
    }

    [Fact]
    public async Task Sync_HeadMovedWhileFilesWereRead_IsRebasedOntoTheNewHead()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, templateHead) = await bed.CreateProjectAsync(Template);
        var podFile = Encoding.UTF8.GetBytes("from the pod " + Guid.NewGuid());
        var concurrentFile = Encoding.UTF8.GetBytes("from elsewhere " + Guid.NewGuid());
        var podTree = SnapshotManifest.Create([Entry("src/App.tsx", Template["src/App.tsx"]), Entry("src/pod.ts", podFile)]);
        string? concurrentHead = null;
        await using var pod = await FakePod.StartAsync(
            context => context.Response.WriteAsync("{\"files\":[" + string.Join(',', podTree.Entries.Select(e =>
                $"{{\"path\":\"{e.Path}\",\"sha256\":\"{e.Sha256}\",\"size\":{e.Size}}}")) + "]}"),
            async context =>
            {
                // Another writer (a restore, say) moves the head while this sync is reading the pod.
                await bed.Store.PutKnownBlobAsync(Sha256Hex.Of(concurrentFile), concurrentFile, context.RequestAborted);
                var moved = SnapshotManifest.Create([Entry("src/App.tsx", Template["src/App.tsx"]), Entry("src/concurrent.ts", concurrentFile)]);
                var result = await bed.Store.CommitAsync(new SnapshotCommit(projectId, templateHead, moved, SnapshotAuthors.User, "Concurrent"), context.RequestAborted);
                concurrentHead = result.HeadSnapshotId;
                using var tar = new MemoryStream();
                using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
                {
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "src/pod.ts") { DataStream = new MemoryStream(podFile) });
                }
                await context.Response.Body.WriteAsync(tar.ToArray(), context.RequestAborted);
            });
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var done = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);

        Assert.Equal(SyncEvent.Done, done.Status);
        var history = await bed.HistoryAsync(projectId);
        Assert.Equal(3, history.Count);
        AssertLinear(history, templateHead);
        Assert.Equal(concurrentHead, history[0].ParentId);
        var files = await bed.ReadSnapshotFilesAsync(projectId, done.SnapshotId!);
        Assert.Equal(["src/App.tsx", "src/concurrent.ts", "src/pod.ts"], files.Keys.Order(StringComparer.Ordinal));
    }

    /// <summary>Newest first: each entry's parent is the next one's tree, down to the template.</summary>
    internal static void AssertLinear(IReadOnlyList<SnapshotEntry> history, string templateHead)
    {
        for (var i = 0; i < history.Count - 1; i++)
        {
            Assert.Equal(history[i + 1].SnapshotId, history[i].ParentId);
        }
        Assert.Equal(templateHead, history[^1].SnapshotId);
        Assert.Null(history[^1].ParentId);
    }

    private static ManifestEntry Entry(string path, byte[] content) => new(path, Sha256Hex.Of(content), content.Length);
}
