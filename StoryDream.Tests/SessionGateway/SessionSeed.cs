using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Tests.SessionGateway;

/// <summary>Writes sessions to Redis and announces them the way the API will, so the gateway can be tested on its own.</summary>
internal sealed class SessionSeed(IConnectionMultiplexer redis)
{
    public static string NewId() => Guid.NewGuid().ToString();

    public async Task<SessionRecord> WriteAsync(
        string sessionId, string ownerId, Uri previewUrl, SessionStatus status = SessionStatus.Ready, DateTimeOffset? lastActivity = null, string? podSecret = null)
    {
        var now = lastActivity ?? DateTimeOffset.UtcNow;
        var record = new SessionRecord(sessionId, NewId(), ownerId, status, "local", previewUrl, previewUrl, previewUrl, now, now, podSecret);
        await redis.GetDatabase().HashSetAsync(RedisKeys.Session(sessionId), record.ToHashEntries());
        return record;
    }

    public Task PublishAsync(string type, SessionRecord record) =>
        redis.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.SessionEventsChannel), new SessionEvent(type, record.SessionId, record.ProjectId).ToJson());

    public async Task DestroyAsync(SessionRecord record)
    {
        await redis.GetDatabase().KeyDeleteAsync(RedisKeys.Session(record.SessionId));
        await PublishAsync(SessionEvent.Destroyed, record);
    }

    public async Task<long> LastActivityAsync(string sessionId) =>
        (long)await redis.GetDatabase().HashGetAsync(RedisKeys.Session(sessionId), "lastActivity");

    /// <summary>Polls until <paramref name="probe"/> holds; pub/sub and background writes give no other signal to wait on.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> probe, string what, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(10));
        while (!await probe())
        {
            try
            {
                await Task.Delay(25, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Assert.Fail($"Timed out waiting for {what}.");
            }
        }
    }
}
