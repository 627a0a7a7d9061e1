using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using StackExchange.Redis;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.SyncWorker.Jobs;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

/// <summary>Hostile pods, limits and unrunnable jobs: each fails with a clear error and commits nothing.</summary>
public sealed class SyncWorkerRefusalTests(TestServers servers)
{
    private static readonly Dictionary<string, byte[]> Template = new() { ["src/App.tsx"] = "export {};\n"u8.ToArray() };

    [Theory]
    [InlineData("src/../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("src/a\\u0000b.ts")]
    [InlineData("src\\\\evil.ts")]
    [InlineData("src/cafe\\u0301.ts")]
    public async Task Sync_ManifestWithHostilePath_SavesTheRestAndReportsThePath(string hostileJsonPath)
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, _) = await bed.CreateProjectAsync(Template);
        var good = Encoding.UTF8.GetBytes("good " + Guid.NewGuid());
        var manifest = $$"""{"files":[{"path":"src/App.tsx","sha256":"{{Sha256Hex.Of(Template["src/App.tsx"])}}","size":{{Template["src/App.tsx"].Length}}},{"path":"src/good.ts","sha256":"{{Sha256Hex.Of(good)}}","size":{{good.Length}}},{"path":"{{hostileJsonPath}}","sha256":"{{new string('a', 64)}}","size":1}]}""";
        await using var pod = await FakePod.StartAsync(context => context.Response.WriteAsync(manifest), TarOf(("src/good.ts", good)));
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var done = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);

        Assert.Equal(SyncEvent.Done, done.Status);
        var skipped = Assert.Single(done.Skipped!);
        Assert.Equal(SnapshotPath.Problem(System.Text.Json.JsonSerializer.Deserialize<string>($"\"{hostileJsonPath}\"")), skipped.Reason);
        var saved = await bed.ReadSnapshotFilesAsync(projectId, done.SnapshotId!);
        Assert.Equal(["src/App.tsx", "src/good.ts"], saved.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Sync_TarWithALinkBesideTheRequestedFile_FailsAndCommitsNothing()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, head) = await bed.CreateProjectAsync(Template);
        var content = Encoding.UTF8.GetBytes("new " + Guid.NewGuid());
        var manifest = ManifestJson(("src/App.tsx", Template["src/App.tsx"]), ("src/new.ts", content));
        await using var pod = await FakePod.StartAsync(context => context.Response.WriteAsync(manifest), async context =>
        {
            using var tar = new MemoryStream();
            using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "src/new.ts") { LinkName = "/etc/shadow" });
            }
            await context.Response.Body.WriteAsync(tar.ToArray());
        });
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var failed = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);

        Assert.Equal(SyncEvent.Failed, failed.Status);
        Assert.Contains("only regular files", failed.Error, StringComparison.Ordinal);
        await AssertNothingCommittedAsync(bed, projectId, head);
    }

    [Fact]
    public async Task Sync_TarThatNeverMatchesTheManifest_FailsAfterRetriesAndCommitsNothing()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, head) = await bed.CreateProjectAsync(Template);
        var claimed = Encoding.UTF8.GetBytes("claimed " + Guid.NewGuid());
        var sent = Encoding.UTF8.GetBytes("swapped " + Guid.NewGuid());
        var reads = 0;
        await using var pod = await FakePod.StartAsync(
            context => context.Response.WriteAsync(ManifestJson(("src/App.tsx", Template["src/App.tsx"]), ("src/x.ts", claimed))),
            context => { Interlocked.Increment(ref reads); return TarOf(("src/x.ts", sent))(context); });
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var failed = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);

        Assert.Equal(SyncEvent.Failed, failed.Status);
        Assert.Contains("kept changing", failed.Error, StringComparison.Ordinal);
        Assert.Equal(new StoryDream.SyncWorker.SyncWorkerOptions().ChangedWhileReadingRetries + 1, reads);
        await AssertNothingCommittedAsync(bed, projectId, head);
        Assert.False(await bed.BlobExistsAsync(sent));
        Assert.False(await bed.BlobExistsAsync(claimed));
    }

    [Fact]
    public async Task Sync_TarThatSettlesAfterTwoReads_StartsOverAfterABackoffAndCommitsWhatSettled()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, _) = await bed.CreateProjectAsync(Template);
        var settled = Encoding.UTF8.GetBytes("settled " + Guid.NewGuid());
        var writing = Encoding.UTF8.GetBytes("still writing " + Guid.NewGuid());
        var reads = 0;
        await using var pod = await FakePod.StartAsync(
            context => context.Response.WriteAsync(ManifestJson(("src/App.tsx", Template["src/App.tsx"]), ("src/x.ts", settled))),
            context => TarOf(("src/x.ts", Interlocked.Increment(ref reads) <= 2 ? writing : settled))(context));
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var done = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);

        Assert.True(done.Status == SyncEvent.Done, done.Error);
        Assert.Equal(3, reads);
        Assert.Equal(settled, (await bed.ReadSnapshotFilesAsync(projectId, done.SnapshotId!))["src/x.ts"]);
        Assert.False(await bed.BlobExistsAsync(writing));
    }

    [Fact]
    public async Task Sync_TreeOverTheFileLimit_FailsAndCommitsNothing()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers, new Dictionary<string, string?> { ["SyncWorker:MaxFiles"] = "5" });
        var (projectId, head) = await bed.CreateProjectAsync(Template);
        await using var pod = await PodProcess.StartAsync();
        for (var i = 0; i < 6; i++) { pod.WriteFile($"src/f{i}.ts", Encoding.UTF8.GetBytes($"{i}")); }
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var failed = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);

        Assert.Equal(SyncEvent.Failed, failed.Status);
        Assert.Equal("The pod holds 6 files; the limit is 5 files per project.", failed.Error);
        await AssertNothingCommittedAsync(bed, projectId, head);
    }

    [Fact]
    public async Task Sync_SessionGone_FailsAtOnce()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, head) = await bed.CreateProjectAsync(Template);
        await bed.StartWorkerAsync();
        var sessionId = Guid.NewGuid().ToString();

        var failed = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId)).JobId);

        Assert.Equal($"Session {sessionId} does not exist (it ended, or never started).", failed.Error);
        Assert.Equal(head, await bed.Store.GetHeadAsync(projectId, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Sync_SessionOfAnotherProject_IsRefused()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, head) = await bed.CreateProjectAsync(Template);
        var (otherProject, _) = await bed.CreateProjectAsync(Template);
        await using var pod = await PodProcess.StartAsync();
        pod.WriteFile("src/other.ts", "other project's file"u8.ToArray());
        var othersSession = await bed.StartSessionAsync(otherProject, pod);
        await bed.StartWorkerAsync();

        var failed = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Sync, projectId, othersSession)).JobId);

        Assert.Equal($"Session {othersSession} belongs to another project.", failed.Error);
        await AssertNothingCommittedAsync(bed, projectId, head);
    }

    [Fact]
    public async Task Hydrate_SnapshotNotInTheProjectsHistory_IsRefused()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var (projectId, _) = await bed.CreateProjectAsync(Template);
        var (_, othersHead) = await bed.CreateProjectAsync(new Dictionary<string, byte[]> { ["src/secret.ts"] = RandomNumberGenerator.GetBytes(64) });
        await using var pod = await PodProcess.StartAsync();
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        await bed.StartWorkerAsync();

        var failed = await bed.WaitForEventAsync((await bed.EnqueueAsync(SyncKinds.Hydrate, projectId, sessionId, SyncReasons.Restore, othersHead)).JobId);

        Assert.Equal($"Snapshot {othersHead} is not in the history of project {projectId}.", failed.Error);
        Assert.Empty(pod.ReadFiles());
    }

    [Fact]
    public async Task Consumer_MalformedEntries_GoToTheDeadLettersWithAReason()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        await bed.StartWorkerAsync();
        var hostileJob = new SyncJob(Guid.NewGuid().ToString(), SyncKinds.Sync, "../../projects/other", Guid.NewGuid().ToString(), SyncReasons.AgentTurn);
        await bed.Redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, [new NameValueEntry("jobId", "x"), new NameValueEntry("kind", "reformat-disk")]);
        await bed.Redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, hostileJob.ToStreamFields());

        var failed = await bed.WaitForEventAsync(hostileJob.JobId);
        StreamEntry[] dead = [];
        for (var i = 0; i < 100 && dead.Length < 2; i++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
            dead = await bed.Redis.Db.StreamRangeAsync(SyncJobQueue.DeadLetterStream);
        }

        Assert.Equal("projectId must be a lower-case UUID.", failed.Error);
        Assert.Equal(2, dead.Length);
        Assert.Equal("reformat-disk", dead[0]["kind"].ToString());
        Assert.StartsWith("Malformed entry", dead[0]["deadLetterError"].ToString(), StringComparison.Ordinal);
        Assert.Equal(0, await bed.PendingCountAsync());
    }

    [Fact]
    public async Task Health_WorkerRunning_AnswersHealthy()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers);
        var worker = await bed.StartWorkerAsync();
        using var http = new HttpClient { BaseAddress = worker.Address, Timeout = TimeSpan.FromSeconds(30) };

        // Unhealthy (503) until the consumer loop has gone round once.
        var body = "";
        for (var i = 0; i < 100 && body != "Healthy"; i++)
        {
            using var response = await http.GetAsync(new Uri("/health", UriKind.Relative), TestContext.Current.CancellationToken);
            body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            if (body != "Healthy") { await Task.Delay(100, TestContext.Current.CancellationToken); }
        }

        Assert.Equal("Healthy", body);
    }

    private static async Task AssertNothingCommittedAsync(SyncTestBed bed, string projectId, string head)
    {
        Assert.Equal(head, await bed.Store.GetHeadAsync(projectId, TestContext.Current.CancellationToken));
        Assert.Single(await bed.HistoryAsync(projectId));
        var manifests = await bed.Storage.ListAsync(bed.Storage.Bucket, SnapshotObjectNames.ProjectManifests(projectId), TestContext.Current.CancellationToken)
            .ToListAsync(TestContext.Current.CancellationToken);
        Assert.Empty(manifests);
    }

    private static string ManifestJson(params (string Path, byte[] Content)[] files) =>
        "{\"files\":[" + string.Join(',', files.Select(f => $"{{\"path\":\"{f.Path}\",\"sha256\":\"{Sha256Hex.Of(f.Content)}\",\"size\":{f.Content.Length}}}")) + "]}";

    private static RequestDelegate TarOf(params (string Path, byte[] Content)[] files) => async context =>
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (path, content) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = new MemoryStream(content) });
            }
        }
        context.Response.ContentType = "application/x-tar";
        await context.Response.Body.WriteAsync(tar.ToArray());
    };
}
