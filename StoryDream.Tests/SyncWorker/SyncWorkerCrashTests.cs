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
    /// Two worker processes run at a time. Each round a job goes to one of them, which is killed (SIGKILL) at a random
    /// moment of its run; the other claims the job once it is idle and completes it, and a fresh process replaces the
    /// dead one. Kills land before, during and after the commit, so both "nothing done yet" and "committed but not
    /// acknowledged" are exercised.
    /// </summary>
    [Fact]
    public async Task Sync_WorkerKilledMidSync20Times_EveryJobCompletedOnceByAnotherWorker()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers, new Dictionary<string, string?>
        {
            ["SyncWorker:ClaimIdleTime"] = "00:00:01",
            ["SyncWorker:ClaimInterval"] = "00:00:00.200",
            ["SyncWorker:LockTime"] = "00:00:01",
            ["SyncWorker:ReadBlockTime"] = "00:00:00.200",
            ["SyncWorker:MaxDeliveries"] = "50",
        });
        var template = new Dictionary<string, byte[]> { ["src/App.tsx"] = "export {};\n"u8.ToArray() };
        var (projectId, templateHead) = await bed.CreateProjectAsync(template);
        await using var pod = await PodProcess.StartAsync();
        pod.WriteFile("src/App.tsx", template["src/App.tsx"]);
        var sessionId = await bed.StartSessionAsync(projectId, pod.FilesUrl);
        var environment = bed.Environment();
        var workers = new List<WorkerProcess>
        {
            await WorkerProcess.StartAsync(environment, "crash-0"),
            await WorkerProcess.StartAsync(environment, "crash-1"),
        };
        var next = 2;
        var rounds = new List<(SyncJob Job, string ExpectedTree, string Victim, bool CommittedBeforeKill)>();

        try
        {
            for (var round = 0; round < Rounds; round++)
            {
                for (var f = 0; f < 30; f++) { pod.WriteFile($"src/round{round}/file{f}.bin", RandomNumberGenerator.GetBytes(32 * 1024)); }
                if (round > 0) { pod.DeleteFile($"src/round{round - 1}/file0.bin"); }
                var expected = TreeOf(pod.ReadFiles());
                var headBefore = await bed.Store.GetHeadAsync(projectId, TestContext.Current.CancellationToken);
                var job = await bed.EnqueueAsync(SyncKinds.Sync, projectId, sessionId);

                var victimName = await DeliveredToAsync(bed, job);
                await Task.Delay(Random.Shared.Next(0, 250), TestContext.Current.CancellationToken);
                var victim = workers.Single(w => w.ConsumerName == victimName);
                victim.Kill();
                workers.Remove(victim);
                var committed = await bed.Store.GetHeadAsync(projectId, TestContext.Current.CancellationToken) != headBefore;
                var replacement = WorkerProcess.StartAsync(environment, $"crash-{next++}");

                var done = await bed.WaitForEventAsync(job.JobId, TimeSpan.FromSeconds(60));
                Assert.Equal(SyncEvent.Done, done.Status);
                workers.Add(await replacement);
                rounds.Add((job, expected.Id, victimName, committed));
            }
        }
        finally
        {
            foreach (var worker in workers) { await worker.DisposeAsync(); }
        }

        var history = await bed.HistoryAsync(projectId);
        Assert.Equal(Rounds + 1, history.Count);
        SyncWorkerConcurrencyTests.AssertLinear(history, templateHead);
        var oldestFirst = history.AsEnumerable().Reverse().Skip(1).ToList();
        for (var i = 0; i < Rounds; i++)
        {
            var (job, expectedTree, _, _) = rounds[i];
            Assert.Equal(expectedTree, oldestFirst[i].SnapshotId);
            Assert.Equal(1, bed.EventCount(job.JobId));
            Assert.Equal(expectedTree, (await bed.WaitForEventAsync(job.JobId)).SnapshotId);
        }
        await AssertEveryBlobVerifiedAsync(bed, projectId, history);
        Assert.Equal(0, await bed.PendingCountAsync());
        Assert.Empty(await bed.Redis.Db.StreamRangeAsync(SyncJobQueue.DeadLetterStream));
        // Kills landed on both sides of the commit in a typical run; recorded for the log rather than asserted (timing).
        TestContext.Current.SendDiagnosticMessage(
            $"{rounds.Count(r => !r.CommittedBeforeKill)} kills before the commit, {rounds.Count(r => r.CommittedBeforeKill)} after it");
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
