using StackExchange.Redis;

namespace StoryDream.SyncWorker.Jobs;

/// <summary>
/// One worker at a time runs a project's jobs: that is what lets several pending syncs run as one. The lock is a key
/// with a random token and an expiry, renewed while its holder runs; a holder that dies frees it within
/// <see cref="SyncWorkerOptions.LockTime"/>. It is an optimisation of who works, not what is correct: two holders
/// (one paused past its expiry) still cannot fork the history, because every commit names its parent.
/// </summary>
internal sealed class ProjectLock(IConnectionMultiplexer redis)
{
    public enum ReleaseOutcome
    {
        Released,
        MoreWork,
        Lost,
    }

    // Releases only when no job waits: a job registered after the holder's last look keeps the lock with the holder,
    // which runs it, instead of being left for a worker that has already given up on the lock.
    private static readonly LuaScript ReleaseIfIdleScript = LuaScript.Prepare("""
        if redis.call('GET', @lockKey) ~= @token then return -1 end
        if redis.call('HLEN', @pendingKey) > 0 then return 0 end
        redis.call('DEL', @lockKey)
        return 1
        """);

    private static readonly LuaScript ReleaseScript = LuaScript.Prepare("""
        if redis.call('GET', @lockKey) == @token then return redis.call('DEL', @lockKey) end
        return 0
        """);

    private static readonly LuaScript RenewScript = LuaScript.Prepare("""
        if redis.call('GET', @lockKey) == @token then return redis.call('PEXPIRE', @lockKey, @milliseconds) end
        return 0
        """);

    private IDatabase Db => redis.GetDatabase();

    public static string Key(string projectId) => $"sync:project:{projectId}:lock";

    /// <summary>A token when the lock was free, else null.</summary>
    public async Task<string?> TryAcquireAsync(string projectId, TimeSpan lockTime)
    {
        var token = Guid.NewGuid().ToString("N");
        return await Db.StringSetAsync(Key(projectId), token, lockTime, When.NotExists) ? token : null;
    }

    /// <summary>How long until the current holder's lock expires unless renewed; zero when there is none.</summary>
    public async Task<TimeSpan> RemainingAsync(string projectId) =>
        await Db.KeyTimeToLiveAsync(Key(projectId)) ?? TimeSpan.Zero;

    /// <summary>False when the lock is no longer this holder's (it expired and someone else took it).</summary>
    public async Task<bool> RenewAsync(string projectId, string token, TimeSpan lockTime) =>
        (int)await Db.ScriptEvaluateAsync(RenewScript, new
        {
            lockKey = (RedisKey)Key(projectId),
            token,
            milliseconds = (long)lockTime.TotalMilliseconds,
        }) == 1;

    public async Task<ReleaseOutcome> ReleaseIfIdleAsync(string projectId, string token) =>
        (int)await Db.ScriptEvaluateAsync(ReleaseIfIdleScript, new
        {
            lockKey = (RedisKey)Key(projectId),
            pendingKey = (RedisKey)SyncJobQueue.PendingKey(projectId),
            token,
        }) switch
        {
            1 => ReleaseOutcome.Released,
            0 => ReleaseOutcome.MoreWork,
            _ => ReleaseOutcome.Lost,
        };

    public async Task ReleaseAsync(string projectId, string token) =>
        await Db.ScriptEvaluateAsync(ReleaseScript, new { lockKey = (RedisKey)Key(projectId), token });
}
