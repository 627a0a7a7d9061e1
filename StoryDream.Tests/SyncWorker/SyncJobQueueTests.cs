using System.Threading.Channels;
using StackExchange.Redis;
using StoryDream.Sessions;
using StoryDream.SyncWorker.Jobs;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

public sealed class SyncJobQueueTests(TestServers servers)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ReadNew_EntryAdded_IsDeliveredOnceWithItsFields()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        await using var reader = BlockingReader.ForSyncJobs(redis.ConnectionString);
        var queue = Queue(redis, reader);
        await queue.EnsureGroupAsync();
        var job = NewJob();
        var id = await redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, job.ToStreamFields());

        var first = await queue.ReadNewAsync("worker-a", 10, TimeSpan.FromMilliseconds(500)).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        var second = await queue.ReadNewAsync("worker-b", 10, TimeSpan.FromMilliseconds(100)).WaitAsync(Timeout, TestContext.Current.CancellationToken);

        var entry = Assert.Single(first);
        Assert.Equal(id.ToString(), entry.Id);
        Assert.Equal(job, SyncJob.FromStreamFields(entry.Fields));
        Assert.Empty(second);
    }

    [Fact]
    public async Task ReadNew_EntryAddedWhileBlocked_ArrivesWithoutWaitingForTheBlockToEnd()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        await using var reader = BlockingReader.ForSyncJobs(redis.ConnectionString);
        var queue = Queue(redis, reader);
        await queue.EnsureGroupAsync();
        await queue.ReadNewAsync("warm-up", 1, TimeSpan.FromMilliseconds(10));

        var read = queue.ReadNewAsync("worker-a", 10, TimeSpan.FromSeconds(3));
        await Task.Delay(200, TestContext.Current.CancellationToken);
        var started = DateTime.UtcNow;
        await redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, NewJob().ToStreamFields());
        var entries = await read.WaitAsync(Timeout, TestContext.Current.CancellationToken);

        Assert.Single(entries);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2), "the blocked read should return when the entry arrives");
    }

    [Fact]
    public async Task ReadNew_BlockLongerThanTheClientsDefaultTimeout_EndsEmptyWithoutATimeout()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        await using var reader = BlockingReader.ForSyncJobs(redis.ConnectionString);
        var queue = Queue(redis, reader);
        await queue.EnsureGroupAsync();

        // StackExchange.Redis times a command out after 5 s by default; the headless runner blocks 5 s.
        var entries = await queue.ReadNewAsync("worker-a", 10, TimeSpan.FromSeconds(6)).WaitAsync(Timeout, TestContext.Current.CancellationToken);

        Assert.Empty(entries);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => reader.ReadGroupAsync("worker-a", 1, BlockingReader.MaxBlock + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task EnsureGroup_JobsEnqueuedBeforeTheFirstWorker_AreStillDelivered()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        await using var reader = BlockingReader.ForSyncJobs(redis.ConnectionString);
        var queue = Queue(redis, reader);
        await redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, NewJob().ToStreamFields());

        await queue.EnsureGroupAsync();
        await queue.EnsureGroupAsync();
        var entries = await queue.ReadNewAsync("worker-a", 10, TimeSpan.FromMilliseconds(100));

        Assert.Single(entries);
    }

    [Fact]
    public async Task ClaimIdle_EntryOfADeadConsumer_IsTakenOverWithItsDeliveryCount()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        await using var reader = BlockingReader.ForSyncJobs(redis.ConnectionString);
        var queue = Queue(redis, reader);
        await queue.EnsureGroupAsync();
        await redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, NewJob().ToStreamFields());
        await queue.ReadNewAsync("dead-worker", 10, TimeSpan.FromMilliseconds(100));

        var early = await queue.ClaimIdleAsync("survivor", TimeSpan.FromSeconds(10), 10);
        await Task.Delay(300, TestContext.Current.CancellationToken);
        var claimed = await queue.ClaimIdleAsync("survivor", TimeSpan.FromMilliseconds(200), 10);

        Assert.Empty(early);
        var (entry, deliveries) = Assert.Single(claimed);
        Assert.Equal(2, deliveries);
        Assert.NotNull(SyncJob.FromStreamFields(entry.Fields));
        var pending = await redis.Db.StreamPendingMessagesAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, 10, "survivor");
        Assert.Single(pending);
    }

    [Fact]
    public async Task Touch_EntryInProgress_IsNotClaimedAndKeepsItsDeliveryCount()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        await using var reader = BlockingReader.ForSyncJobs(redis.ConnectionString);
        var queue = Queue(redis, reader);
        await queue.EnsureGroupAsync();
        var id = (await redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, NewJob().ToStreamFields())).ToString();
        await queue.ReadNewAsync("holder", 10, TimeSpan.FromMilliseconds(100));
        await Task.Delay(300, TestContext.Current.CancellationToken);

        await queue.TouchAsync("holder", [id]);
        var claimed = await queue.ClaimIdleAsync("other", TimeSpan.FromMilliseconds(250), 10);

        Assert.Empty(claimed);
        var info = await redis.Db.StreamPendingMessagesAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, 1, RedisValue.Null, id, id);
        Assert.Equal(1, info[0].DeliveryCount);
        Assert.Equal("holder", info[0].ConsumerName.ToString());
    }

    [Fact]
    public async Task Register_EntryAcknowledgedMeanwhile_IsNotAddedAsWork()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        await using var reader = BlockingReader.ForSyncJobs(redis.ConnectionString);
        var queue = Queue(redis, reader);
        await queue.EnsureGroupAsync();
        var job = NewJob();
        var id = (await redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, job.ToStreamFields())).ToString();
        await queue.ReadNewAsync("worker-a", 10, TimeSpan.FromMilliseconds(100));
        await redis.Db.StreamAcknowledgeAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, id);

        var registered = await queue.RegisterAsync(id, job);

        Assert.False(registered);
        Assert.Empty(await queue.PendingAsync(job.ProjectId));
    }

    [Fact]
    public async Task Pending_JobsOfAProject_ComeInStreamOrderEvenWhenIdsDifferInLength()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        await using var reader = BlockingReader.ForSyncJobs(redis.ConnectionString);
        var queue = Queue(redis, reader);
        await queue.EnsureGroupAsync();
        var projectId = Guid.NewGuid().ToString();
        var ids = new[] { "999-500", "1000-9", "1000-10", "1001-0" };
        foreach (var id in ids)
        {
            var job = NewJob(projectId) with { JobId = id };
            await redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, job.ToStreamFields(), id);
        }
        await queue.ReadNewAsync("worker-a", 10, TimeSpan.FromMilliseconds(100));
        foreach (var id in ids.Reverse()) { Assert.True(await queue.RegisterAsync(id, NewJob(projectId) with { JobId = id })); }

        var pending = await queue.PendingAsync(projectId);

        Assert.Equal(["999-500", "1000-9", "1000-10", "1001-0"], pending.Select(p => p.EntryId));
        Assert.Equal(pending.Select(p => p.EntryId), pending.Select(p => p.Job.JobId));
    }

    [Fact]
    public async Task Complete_ByTheLockHolderOnly_AcknowledgesForgetsAndAnnounces()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        await using var reader = BlockingReader.ForSyncJobs(redis.ConnectionString);
        var queue = Queue(redis, reader);
        await queue.EnsureGroupAsync();
        var projectId = Guid.NewGuid().ToString();
        var jobs = new[] { NewJob(projectId), NewJob(projectId) };
        var ids = new List<string>();
        foreach (var job in jobs) { ids.Add((await redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, job.ToStreamFields())).ToString()); }
        await queue.ReadNewAsync("worker-a", 10, TimeSpan.FromMilliseconds(100));
        for (var i = 0; i < jobs.Length; i++) { await queue.RegisterAsync(ids[i], jobs[i]); }
        var events = await SubscribeAsync(redis, projectId);
        var snapshotId = new string('c', 64);

        var token = await new ProjectLock(await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString)).TryAcquireAsync(projectId, TimeSpan.FromSeconds(10));
        var results = jobs.Select((j, i) => (ids[i], new SyncEvent(j.JobId, projectId, SyncEvent.Done, snapshotId))).ToList();

        var refused = await queue.CompleteAsync(projectId, "not-the-holder", results);
        var pendingAfterRefusal = (await queue.PendingAsync(projectId)).Count;
        var completed = await queue.CompleteAsync(projectId, token!, results);

        Assert.False(refused);
        Assert.Equal(2, pendingAfterRefusal);
        Assert.True(completed);

        Assert.Empty(await queue.PendingAsync(projectId));
        Assert.Equal(0, (await redis.Db.StreamPendingAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup)).PendingMessageCount);
        var received = new[]
        {
            await events.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken),
            await events.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken),
        };
        Assert.Equal(jobs.Select(j => j.JobId).Order(), received.Select(e => e.JobId).Order());
        Assert.All(received, e => Assert.Equal(snapshotId, e.SnapshotId));
    }

    [Fact]
    public async Task DeadLetter_UnrunnableEntry_IsMovedWithItsReasonAndReportedFailed()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        await using var reader = BlockingReader.ForSyncJobs(redis.ConnectionString);
        var queue = Queue(redis, reader);
        await queue.EnsureGroupAsync();
        var job = NewJob();
        await redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, job.ToStreamFields());
        var entry = Assert.Single(await queue.ReadNewAsync("worker-a", 10, TimeSpan.FromMilliseconds(100)));
        var events = await SubscribeAsync(redis, job.ProjectId);

        await queue.DeadLetterAsync(entry, job, "too many tries");

        var dead = Assert.Single(await redis.Db.StreamRangeAsync(SyncJobQueue.DeadLetterStream));
        Assert.Equal(entry.Id, dead["deadLetterId"].ToString());
        Assert.Equal("too many tries", dead["deadLetterError"].ToString());
        Assert.Equal(job.JobId, dead["jobId"].ToString());
        Assert.Equal(0, (await redis.Db.StreamPendingAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup)).PendingMessageCount);
        var failed = await events.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.Equal(new SyncEvent(job.JobId, job.ProjectId, SyncEvent.Failed, Error: "too many tries"), failed);
    }

    [Fact]
    public void NextBatch_SyncsThenHydrate_CoalescesTheSyncsOfOneSessionOnly()
    {
        var projectId = Guid.NewGuid().ToString();
        var session = Guid.NewGuid().ToString();
        var sync1 = new PendingJob("1-0", NewJob(projectId, session));
        var sync2 = new PendingJob("2-0", NewJob(projectId, session));
        var otherSession = new PendingJob("3-0", NewJob(projectId));
        var hydrate = new PendingJob("4-0", NewJob(projectId, session) with { Kind = SyncKinds.Hydrate });

        Assert.Equal([sync1, sync2], ProjectRunner.NextBatch([sync1, sync2, otherSession, hydrate]));
        Assert.Equal([sync1, sync2], ProjectRunner.NextBatch([sync1, sync2, hydrate, otherSession]));
        Assert.Equal([hydrate], ProjectRunner.NextBatch([hydrate, sync1, sync2]));
    }

    private static SyncJobQueue Queue(RedisDatabaseLease redis, BlockingReader reader) =>
        new(ConnectionMultiplexer.Connect(redis.ConnectionString), reader);

    private static SyncJob NewJob(string? projectId = null, string? sessionId = null) => new(
        Guid.NewGuid().ToString(), SyncKinds.Sync, projectId ?? Guid.NewGuid().ToString(), sessionId ?? Guid.NewGuid().ToString(), SyncReasons.AgentTurn);

    /// <summary>The sync events of one project: the channel is the server's, not the leased database's, so tests running
    /// beside this one publish on it too.</summary>
    private static async Task<ChannelReader<SyncEvent>> SubscribeAsync(RedisDatabaseLease redis, string projectId)
    {
        var channel = Channel.CreateUnbounded<SyncEvent>();
        await redis.Connection.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisKeys.SyncEventsChannel), (_, message) =>
        {
            if (SyncEvent.FromJson(message.ToString()) is { } parsed && parsed.ProjectId == projectId) { channel.Writer.TryWrite(parsed); }
        });
        return channel.Reader;
    }
}
