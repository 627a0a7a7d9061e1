using System.Text;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

/// <summary>
/// A delivered job is run at once, never left for the idle claim (issue 15, item 9). The claim is set far beyond the
/// tests' patience, so a job that depends on it never ends and the wait for its event times out.
/// </summary>
public sealed class SyncWorkerWakeUpTests(TestServers servers)
{
    private static readonly Dictionary<string, string?> NoClaim = new()
    {
        ["SyncWorker:ClaimIdleTime"] = "00:10:00",
        ["SyncWorker:ClaimInterval"] = "00:00:01",
    };

    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Consumer_BackToBackJobsForOneProjectBesideOthers_NoneWaitsForTheClaim()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers, NoClaim);
        await bed.StartWorkerAsync();
        var busy = await StartProjectAsync(bed, "busy");
        var others = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => StartProjectAsync(bed, $"other-{i}")));
        await using var disposePods = new PodsDisposer([busy.Pod, .. others.Select(o => o.Pod)]);

        // Each next job is added the moment the previous one is announced: right when the run that announced it
        // finds nothing more to do and ends, which is where a job used to slip past it.
        async Task<int> BackToBackAsync((string ProjectId, string SessionId, PodProcess Pod) project, int rounds)
        {
            for (var round = 0; round < rounds; round++)
            {
                project.Pod.WriteFile("src/round.ts", Encoding.UTF8.GetBytes($"export const round = {round};\n"));
                var job = await bed.EnqueueAsync(SyncKinds.Sync, project.ProjectId, project.SessionId);
                var done = await bed.WaitForEventAsync(job.JobId, EventTimeout);
                Assert.Equal(SyncEvent.Done, done.Status);
            }
            return rounds;
        }

        var rounds = await Task.WhenAll([BackToBackAsync(busy, 60), .. others.Select(o => BackToBackAsync(o, 20))]);

        Assert.Equal(120, rounds.Sum());
        Assert.Equal(0, await bed.PendingCountAsync());
    }

    [Fact]
    public async Task Consumer_BlockingReadFailsAfterRedisDeliveredAnEntry_RunsThatJob()
    {
        await using var bed = await SyncTestBed.CreateAsync(servers, NoClaim);
        const string consumer = "wake-up-worker";
        await bed.StartWorkerAsync(consumer);
        var project = await StartProjectAsync(bed, "lost-reply");
        await using var disposePods = new PodsDisposer([project.Pod]);
        var warmUp = await bed.EnqueueAsync(SyncKinds.Sync, project.ProjectId, project.SessionId);
        await bed.WaitForEventAsync(warmUp.JobId, EventTimeout);

        // What a reply lost to a client-side timeout leaves behind: Redis delivered the entry to the worker (it is in
        // the worker's pending list and will not be read as new again), and the worker's read failed.
        var job = new SyncJob(Guid.NewGuid().ToString(), SyncKinds.Sync, project.ProjectId, project.SessionId, SyncReasons.AgentTurn, "msg-lost", null);
        var delivered = await bed.Redis.Db.ScriptEvaluateAsync("""
            local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
            redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
            return id
            """,
            [RedisKeys.SyncJobsStream],
            [RedisKeys.SyncWorkersGroup, consumer, .. job.ToStreamFields().SelectMany(f => new[] { f.Name, f.Value })]);
        await KillBlockedReaderAsync(bed);

        var done = await bed.WaitForEventAsync(job.JobId, EventTimeout);

        Assert.Equal(SyncEvent.Done, done.Status);
        Assert.False(delivered.IsNull);
    }

    private static async Task KillBlockedReaderAsync(SyncTestBed bed)
    {
        var server = bed.Redis.Connection.GetServer(bed.Redis.Connection.GetEndPoints()[0]);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var reader = (await server.ClientListAsync()).FirstOrDefault(c =>
                c.Name == "storydream-syncworker-reader" && c.Database == bed.Redis.Database && c.LastCommand == "xreadgroup");
            if (reader is not null)
            {
                await server.ClientKillAsync(reader.Id, skipMe: true);
                return;
            }
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
        Assert.Fail("The worker's blocking reader was not found in CLIENT LIST.");
    }

    private static async Task<(string ProjectId, string SessionId, PodProcess Pod)> StartProjectAsync(SyncTestBed bed, string name)
    {
        var files = new Dictionary<string, byte[]>
        {
            ["src/main.tsx"] = Encoding.UTF8.GetBytes($"// {name}\n"),
        };
        var (projectId, _) = await bed.CreateProjectAsync(files);
        var pod = await PodProcess.StartAsync();
        foreach (var (path, content) in files) { pod.WriteFile(path, content); }
        return (projectId, await bed.StartSessionAsync(projectId, pod), pod);
    }

    private sealed class PodsDisposer(IReadOnlyList<PodProcess> pods) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var pod in pods) { await pod.DisposeAsync(); }
        }
    }
}
