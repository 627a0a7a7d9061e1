using System.Security.Cryptography;
using StackExchange.Redis;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.SyncWorker.Jobs;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

public sealed class SyncWorkerCrashTests(TestServers servers)
{
    private const int Rounds = 20;

    /// <summary>
    /// Three worker processes run at a time. Each round a job goes to one of them, which is killed (SIGKILL) at a random
    /// moment of its run; the other claims the job once it is idle and completes it, and a fresh process replaces the
    /// dead one. Kills land before and after the commit, so both "nothing done yet" and "committed but not acknowledged"
    /// are exercised. A round whose job was already announced when the kill landed does not count.
    /// </summary>
    [Fact]
    public async Task Sync_WorkerKilledMidSync20Times_EveryJobCompletedOnceByAnotherWorker()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers, new Dictionary<string, string?>
        {
            ["SyncWorker:ClaimIdleTime"] = "00:00:00.600",
            ["SyncWorker:ClaimInterval"] = "00:00:00.100",
            ["SyncWorker:LockTime"] = "00:00:01.500",
            ["SyncWorker:ReadBlockTime"] = "00:00:00.200",
            ["SyncWorker:MaxDeliveries"] = "50",
        });
        var template = new Dictionary<string, byte[]> { ["src/App.tsx"] = "export {};\n"u8.ToArray() };
        var (projectId, templateHead) = await bed.CreateProjectAsync(template);
        await using var pod = await PodProcess.StartAsync();
        pod.WriteFile("src/App.tsx", template["src/App.tsx"]);
        var sessionId = await bed.StartSessionAsync(projectId, pod);
        var environment = bed.Environment();
        // Replacements start in the background: a round does not wait for one, and a job that reaches no live worker
        // waits in the stream for the next one to come up.
        var workers = new Dictionary<string, Task<WorkerProcess>>(StringComparer.Ordinal)
        {
            ["crash-0"] = WorkerProcess.StartAsync(environment, "crash-0"),
            ["crash-1"] = WorkerProcess.StartAsync(environment, "crash-1"),
            ["crash-2"] = WorkerProcess.StartAsync(environment, "crash-2"),
        };
        await Task.WhenAll(workers.Values);
        var started = 3;
        var rounds = new List<(SyncJob Job, string ExpectedTree, Kill Kill)>();

        try
        {
            for (var round = 0; rounds.Count(r => r.Kill != Kill.AfterCompletion) < Rounds; round++)
            {
                Assert.True(round < Rounds * 2, "too many kills landed after their job was already complete");
                for (var f = 0; f < 10; f++) { pod.WriteFile($"src/round{round}/file{f}.bin", RandomNumberGenerator.GetBytes(16 * 1024)); }
                pod.WriteFile("src/App.tsx", RandomNumberGenerator.GetBytes(1024));
                if (round > 0) { pod.DeleteFile($"src/round{round - 1}/file0.bin"); }
                var expected = TreeOf(pod.ReadFiles());
                var headBefore = await bed.Store.GetHeadAsync(projectId, TestContext.Current.CancellationToken);
                var job = await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId);

                var clock = System.Diagnostics.Stopwatch.StartNew();
                var victimName = await DeliveredToAsync(bed, job);
                var victim = await workers[victimName];
                if (round % 2 == 0)
                {
                    await Task.Delay(Random.Shared.Next(0, 300), TestContext.Current.CancellationToken);
                }
                else
                {
                    await StepUntilCommittedAsync(bed, victim, projectId, headBefore, job);
                }
                victim.Kill();
                workers.Remove(victimName);
                var kill = bed.EventCount(job.JobId) > 0 ? Kill.AfterCompletion
                    : await bed.Store.GetHeadAsync(projectId, TestContext.Current.CancellationToken) != headBefore ? Kill.AfterCommit
                    : Kill.BeforeCommit;
                var replacementName = $"crash-{started++}";
                workers[replacementName] = WorkerProcess.StartAsync(environment, replacementName);

                var killedAt = clock.ElapsedMilliseconds;
                var done = await bed.WaitForEventAsync(job.JobId, TimeSpan.FromSeconds(60));
                Assert.Equal(SyncEvent.Done, done.Status);
                TestContext.Current.TestOutputHelper?.WriteLine($"round {round}: killed at {killedAt} ms ({kill}), done at {clock.ElapsedMilliseconds} ms");
                rounds.Add((job, expected.Id, kill));
            }
        }
        finally
        {
            foreach (var worker in workers.Values) { await (await worker).DisposeAsync(); }
        }

        var history = await bed.HistoryAsync(projectId);
        Assert.Equal(rounds.Count + 1, history.Count);
        SyncWorkerConcurrencyTests.AssertLinear(history, templateHead);
        var oldestFirst = history.AsEnumerable().Reverse().Skip(1).ToList();
        for (var i = 0; i < rounds.Count; i++)
        {
            var (job, expectedTree, _) = rounds[i];
            Assert.Equal(expectedTree, oldestFirst[i].SnapshotId);
            Assert.Equal(1, bed.EventCount(job.JobId));
            Assert.Equal(expectedTree, (await bed.WaitForEventAsync(job.JobId)).SnapshotId);
        }
        await AssertEveryBlobVerifiedAsync(bed, projectId, history);
        Assert.Equal(0, await bed.PendingCountAsync());
        Assert.Empty(await bed.Redis.Db.StreamRangeAsync(SyncJobQueue.DeadLetterStream));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"kills: {rounds.Count(r => r.Kill == Kill.BeforeCommit)} before the commit, {rounds.Count(r => r.Kill == Kill.AfterCommit)} between commit and acknowledgement, {rounds.Count(r => r.Kill == Kill.AfterCompletion)} too late");
    }

    private enum Kill
    {
        BeforeCommit,
        AfterCommit,
        AfterCompletion,
    }

    /// <summary>
    /// Lets the victim run in short slices, frozen in between, until its commit has moved the head: killed then, it has
    /// committed but (most likely) not yet acknowledged, the case a plain random kill almost never hits.
    /// </summary>
    private static async Task StepUntilCommittedAsync(SyncTestBed bed, WorkerProcess victim, string projectId, string? headBefore, SyncJob job)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(15, TestContext.Current.CancellationToken);
            await victim.PauseAsync();
            if (bed.EventCount(job.JobId) > 0
                || await bed.Store.GetHeadAsync(projectId, TestContext.Current.CancellationToken) != headBefore)
            {
                return;
            }
            await victim.ResumeAsync();
        }
    }

    /// <summary>The consumer the job's entry was delivered to, once it has been.</summary>
    private static async Task<string> DeliveredToAsync(SyncTestBed bed, SyncJob job)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var pending = await bed.Redis.Db.StreamPendingMessagesAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, 100, RedisValue.Null);
            foreach (var message in pending)
            {
                var entry = await bed.Redis.Db.StreamRangeAsync(RedisKeys.SyncJobsStream, message.MessageId, message.MessageId);
                if (entry.Length == 1 && entry[0]["jobId"] == job.JobId) { return message.ConsumerName.ToString(); }
            }
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
        throw new TimeoutException($"Job {job.JobId} was not delivered to any worker.");
    }

    private static async Task AssertEveryBlobVerifiedAsync(SyncTestBed bed, string projectId, IReadOnlyList<SnapshotEntry> history)
    {
        var ct = TestContext.Current.CancellationToken;
        var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in history)
        {
            var tree = await bed.Store.ReadTreeAsync(projectId, entry.SnapshotId, ct);
            Assert.NotNull(tree);
            foreach (var file in tree.Entries) { blobs[file.Sha256] = file.Size; }
        }
        await Parallel.ForEachAsync(blobs, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (blob, token) =>
        {
            using var buffer = new MemoryStream();
            await bed.Storage.DownloadAsync(bed.Storage.Bucket, SnapshotObjectNames.Blob(blob.Key), buffer, cancellationToken: token);
            Assert.Equal(blob.Value, buffer.Length);
            Assert.Equal(blob.Key, Sha256Hex.Of(buffer.ToArray()));
        });
    }

    private static SnapshotManifest TreeOf(Dictionary<string, byte[]> files) =>
        SnapshotManifest.Create(files.Select(f => new ManifestEntry(f.Key, Sha256Hex.Of(f.Value), f.Value.Length)));
}
