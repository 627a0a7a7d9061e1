using StackExchange.Redis;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Sessions;

public sealed class SessionRecordTests(TestServers servers)
{
    [Fact]
    public async Task SessionRecord_RoundTripThroughRedis_Equal()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(await servers.RedisAsync());
        var db = redis.GetDatabase();
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var record = new SessionRecord(Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), "alice", SessionStatus.Ready, "local",
            new Uri("http://127.0.0.1:4000/"), new Uri("http://127.0.0.1:4001/"), new Uri("http://127.0.0.1:4002/"), now, now);

        await db.HashSetAsync(RedisKeys.Session(record.SessionId), record.ToHashEntries());
        var read = SessionRecord.FromHash(record.SessionId, await db.HashGetAllAsync(RedisKeys.Session(record.SessionId)));

        Assert.Equal(record, read);
    }

    [Fact]
    public void FromHash_MissingField_ReturnsNull() =>
        Assert.Null(SessionRecord.FromHash("s", [new HashEntry("projectId", "p"), new HashEntry("status", "ready")]));

    [Fact]
    public void SyncJob_MissingKind_IsRejected()
    {
        var job = new SyncJob("j", SyncKinds.Sync, "p", "s", SyncReasons.AgentTurn, MessageId: "m");
        Assert.Equal(job, SyncJob.FromStreamFields(job.ToStreamFields()));
        Assert.Null(SyncJob.FromStreamFields([.. job.ToStreamFields().Where(f => f.Name != "kind")]));
    }

    [Fact]
    public void SyncJob_WithTraceParent_RoundTripsAndStaysOptional()
    {
        const string traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        var job = new SyncJob("j", SyncKinds.Hydrate, "p", "s", SyncReasons.Restore, SnapshotId: "snap", TraceParent: traceParent);
        Assert.Contains(job.ToStreamFields(), f => f.Name == "traceparent" && f.Value == traceParent);
        Assert.Equal(job, SyncJob.FromStreamFields(job.ToStreamFields()));
        Assert.DoesNotContain((job with { TraceParent = null }).ToStreamFields(), f => f.Name == "traceparent");
    }
}
