using StackExchange.Redis;
using StoryDream.Sessions;
using StoryDream.SyncWorker.Jobs;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

public sealed class ProjectLockTests(TestServers servers)
{
    [Fact]
    public async Task TryAcquire_Held_GivesNoTokenAndTheTimeLeft()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        var locks = new ProjectLock(await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString));
        var projectId = Guid.NewGuid().ToString();

        var first = await locks.TryAcquireAsync(projectId, TimeSpan.FromSeconds(10));
        var second = await locks.TryAcquireAsync(projectId, TimeSpan.FromSeconds(10));
        var remaining = await locks.RemainingAsync(projectId);

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.InRange(remaining, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ReleaseIfIdle_JobWaiting_KeepsTheLock()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        var locks = new ProjectLock(await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString));
        var projectId = Guid.NewGuid().ToString();
        var token = await locks.TryAcquireAsync(projectId, TimeSpan.FromSeconds(10));
        await redis.Db.HashSetAsync(SyncJobQueue.PendingKey(projectId), "1-0", "{}");

        var busy = await locks.ReleaseIfIdleAsync(projectId, token!);
        await redis.Db.KeyDeleteAsync(SyncJobQueue.PendingKey(projectId));
        var idle = await locks.ReleaseIfIdleAsync(projectId, token!);

        Assert.Equal(ProjectLock.ReleaseOutcome.MoreWork, busy);
        Assert.Equal(ProjectLock.ReleaseOutcome.Released, idle);
        Assert.NotNull(await locks.TryAcquireAsync(projectId, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Renew_AfterExpiryAndTakeOver_ReportsTheLockLost()
    {
        await using var redis = await RedisDatabaseLease.RentAsync(servers);
        var locks = new ProjectLock(await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString));
        var projectId = Guid.NewGuid().ToString();
        var stale = await locks.TryAcquireAsync(projectId, TimeSpan.FromMilliseconds(300));
        await Task.Delay(500, TestContext.Current.CancellationToken);
        var fresh = await locks.TryAcquireAsync(projectId, TimeSpan.FromSeconds(10));

        var renewed = await locks.RenewAsync(projectId, stale!, TimeSpan.FromSeconds(10));
        await locks.ReleaseAsync(projectId, stale!);
        var outcome = await locks.ReleaseIfIdleAsync(projectId, stale!);

        Assert.NotNull(fresh);
        Assert.False(renewed);
        Assert.Equal(ProjectLock.ReleaseOutcome.Lost, outcome);
        Assert.Equal(fresh, (await redis.Db.StringGetAsync(ProjectLock.Key(projectId))).ToString());
    }

    [Fact]
    public void RedisKeys_Contract_MatchesTheDesign()
    {
        Assert.Equal("sync:jobs", RedisKeys.SyncJobsStream);
        Assert.Equal("sync-workers", RedisKeys.SyncWorkersGroup);
    }
}
