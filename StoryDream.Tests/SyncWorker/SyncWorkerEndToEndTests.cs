using System.Security.Cryptography;
using System.Text;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

/// <summary>The worker against a real session-pod, real Redis and the real Firestore and Storage emulators.</summary>
public sealed class SyncWorkerEndToEndTests(TestServers servers)
{
    private static readonly Dictionary<string, byte[]> Template = new()
    {
        ["src/main.tsx"] = "import './App';\n"u8.ToArray(),
        ["src/App.tsx"] = "export const App = () => null;\n"u8.ToArray(),
        ["src/compositions/MyVideo.tsx"] = "export const title = \"Hello\";\n"u8.ToArray(),
    };

    [Fact]
    public async Task Sync_EditsInThePod_BecomeASnapshotEqualToThePodsFiles()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, templateHead) = await bed.CreateProjectAsync(Template);
        await using var pod = await PodProcess.StartAsync();
        foreach (var (path, content) in Template) { pod.WriteFile(path, content); }
        pod.WriteFile("src/App.tsx", "export const App = () => <div>edited</div>;\n"u8.ToArray());
        pod.WriteFile("src/components/Deep/Title.tsx", RandomNumberGenerator.GetBytes(40_000));
        pod.WriteFile("src/empty.txt", []);
        pod.WriteFile("src/ünïcødé name.ts", "export {};\n"u8.ToArray());
        pod.WriteFile(".claude/settings.json", "{\"model\":\"x\"}"u8.ToArray());
        pod.DeleteFile("src/main.tsx");
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var job = await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId);
        var done = await bed.WaitForEventAsync(job.JobId);

        Assert.Equal(SyncEvent.Done, done.Status);
        Assert.Equal(done.SnapshotId, await bed.Store.GetHeadAsync(projectId, TestContext.Current.CancellationToken));
        AssertSameFiles(pod.ReadFiles(), await bed.ReadSnapshotFilesAsync(projectId, done.SnapshotId!));
        var history = await bed.HistoryAsync(projectId);
        Assert.Equal(2, history.Count);
        Assert.Equal(templateHead, history[0].ParentId);
        Assert.Equal(SnapshotAuthors.Agent, history[0].Author);
        Assert.Equal(job.MessageId, history[0].MessageId);
        Assert.Equal(new SnapshotChanges(4, 1, 1), history[0].Changes);
        Assert.Equal(0, await bed.PendingCountAsync());
    }

    [Fact]
    public async Task Sync_TreeUnchanged_MakesNoNewSnapshot()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, templateHead) = await bed.CreateProjectAsync(Template);
        await using var pod = await PodProcess.StartAsync();
        foreach (var (path, content) in Template) { pod.WriteFile(path, content); }
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var first = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);
        pod.WriteFile("src/App.tsx", "changed"u8.ToArray());
        var second = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);
        var third = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId, SyncReasons.Checkpoint)).JobId);

        Assert.Equal(templateHead, first.SnapshotId);
        Assert.NotEqual(templateHead, second.SnapshotId);
        Assert.Equal(second.SnapshotId, third.SnapshotId);
        Assert.Equal(2, (await bed.HistoryAsync(projectId)).Count);
    }

    [Fact]
    public async Task Hydrate_EmptyPod_ReproducesTheSnapshotByteForByte()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var files = new Dictionary<string, byte[]>(Template)
        {
            ["src/assets/noise.bin"] = RandomNumberGenerator.GetBytes(300_000),
            ["src/empty.ts"] = [],
            ["src/" + string.Join('/', Enumerable.Repeat("nested", 20)) + "/deep.ts"] = "deep"u8.ToArray(),
            ["src/名前/ファイル.ts"] = Encoding.UTF8.GetBytes("export const x = '名前';\n"),
            [".claude/CLAUDE.md"] = "# notes\n"u8.ToArray(),
        };
        var (projectId, head) = await bed.CreateProjectAsync(files);
        await using var pod = await PodProcess.StartAsync();
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var done = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Hydrate, projectId, sessionId, SyncReasons.Restore)).JobId);

        Assert.Equal(new SyncEvent(done.JobId, projectId, SyncEvent.Done, head), done);
        AssertSameFiles(files, pod.ReadFiles());
    }

    [Fact]
    public async Task Hydrate_PodThatDrifted_RewritesChangedFilesAndDeletesExtraOnes()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, head) = await bed.CreateProjectAsync(Template);
        await using var pod = await PodProcess.StartAsync();
        foreach (var (path, content) in Template) { pod.WriteFile(path, content); }
        pod.WriteFile("src/App.tsx", "drifted"u8.ToArray());
        pod.WriteFile("src/extra/stray.ts", "stray"u8.ToArray());
        pod.WriteFile(".claude/extra.md", "stray"u8.ToArray());
        pod.DeleteFile("src/main.tsx");
        // A file where the snapshot has a folder: it must go before the folder's files can be written.
        Directory.Delete(Path.Combine(pod.Workspace, "src", "compositions"), recursive: true);
        pod.WriteFile("src/compositions", "a file, not a folder"u8.ToArray());
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var done = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Hydrate, projectId, sessionId, SyncReasons.Restore, head)).JobId);

        Assert.Equal(SyncEvent.Done, done.Status);
        AssertSameFiles(Template, pod.ReadFiles());
    }

    [Fact]
    public async Task Sync_SeveralPendingJobsOfOneProject_RunAsOne()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, _) = await bed.CreateProjectAsync(Template);
        await using var pod = await PodProcess.StartAsync();
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        var jobs = new List<SyncJob>();
        for (var i = 0; i < 5; i++)
        {
            pod.WriteFile($"src/turn{i}.ts", Encoding.UTF8.GetBytes($"export const turn = {i};\n"));
            jobs.Add(await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId));
        }

        await bed.StartWorkerAsync();
        var events = new List<SyncEvent>();
        foreach (var job in jobs) { events.Add(await bed.WaitForEventAsync(job.JobId)); }

        Assert.All(events, e => Assert.Equal(SyncEvent.Done, e.Status));
        Assert.Single(events.Select(e => e.SnapshotId).Distinct());
        var history = await bed.HistoryAsync(projectId);
        Assert.Equal(2, history.Count);
        Assert.Equal(jobs[^1].MessageId, history[0].MessageId);
        AssertSameFiles(pod.ReadFiles(), await bed.ReadSnapshotFilesAsync(projectId, events[0].SnapshotId!));
    }

    internal static void AssertSameFiles(IReadOnlyDictionary<string, byte[]> expected, IReadOnlyDictionary<string, byte[]> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, content) in expected)
        {
            Assert.True(content.AsSpan().SequenceEqual(actual[path]), $"'{path}' differs");
        }
    }
}
