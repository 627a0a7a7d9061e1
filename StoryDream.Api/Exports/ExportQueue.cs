using System.Text.Json;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Api.Exports;

/// <summary>
/// The exports' shared state in Redis, so every API replica's worker sees the same queue and limits:
/// <c>exports:queue</c> (waiting, by enqueue time), <c>exports:active</c> (running, scored by their last report, which
/// is how stale renders are found even when the worker that ran them is gone) and <c>exports:user:{userId}</c> (a user's
/// unfinished exports, for the per-user limit). Members are <c>{projectId}/{exportId}</c>.
/// </summary>
internal sealed class ExportQueue(IConnectionMultiplexer redis, TimeProvider time)
{
    private const string QueueKey = "exports:queue";
    private const string ActiveKey = "exports:active";
    private const string WarmKey = "renders:warm";

    // Atomic so that N is a limit across replicas, not per replica.
    private static readonly LuaScript ClaimScript = LuaScript.Prepare("""
        if redis.call('ZCARD', @active) >= tonumber(@limit) then return false end
        local next = redis.call('ZRANGE', @queue, 0, 0)
        if #next == 0 then return false end
        redis.call('ZREM', @queue, next[1])
        redis.call('ZADD', @active, @now, next[1])
        return next[1]
        """);

    private static readonly LuaScript ReserveScript = LuaScript.Prepare("""
        if redis.call('SISMEMBER', @user, @member) == 1 then return 1 end
        if redis.call('SCARD', @user) >= tonumber(@limit) then return 0 end
        redis.call('SADD', @user, @member)
        return 1
        """);

    private static readonly LuaScript EnqueueUnlessActiveScript = LuaScript.Prepare("""
        if redis.call('ZSCORE', @active, @member) then return 0 end
        return redis.call('ZADD', @queue, 'NX', @now, @member)
        """);

    private static readonly LuaScript TouchScript = LuaScript.Prepare("""
        if not redis.call('ZSCORE', @active, @member) then return 0 end
        redis.call('ZADD', @active, @now, @member)
        return 1
        """);

    private IDatabase Db => redis.GetDatabase();

    public static string Member(string projectId, string exportId) => $"{projectId}/{exportId}";

    public static (string ProjectId, string ExportId) Parse(string member)
    {
        var slash = member.IndexOf('/', StringComparison.Ordinal);
        return (member[..slash], member[(slash + 1)..]);
    }

    /// <summary>Counts the export against its owner's limit; false when the owner already has the limit's worth unfinished.</summary>
    public async Task<bool> TryReserveAsync(string userId, string member, int limit) =>
        (int)await Db.ScriptEvaluateAsync(ReserveScript, new { user = (RedisKey)UserKey(userId), member, limit }) == 1;

    public Task ReleaseUserAsync(string userId, string member) => Db.SetRemoveAsync(UserKey(userId), member);

    public Task EnqueueAsync(string member) => Db.SortedSetAddAsync(QueueKey, member, Now());

    /// <summary>Queues the export unless it waits already or a worker runs it (atomic, so a claim in between cannot run it twice).</summary>
    public Task EnqueueUnlessActiveAsync(string member) =>
        Db.ScriptEvaluateAsync(EnqueueUnlessActiveScript, new { active = (RedisKey)ActiveKey, queue = (RedisKey)QueueKey, member, now = Now() });

    /// <summary>Takes the oldest waiting export if fewer than <paramref name="limit"/> run; it is then active.</summary>
    public async Task<string?> TryClaimAsync(int limit)
    {
        var result = await Db.ScriptEvaluateAsync(ClaimScript, new { active = (RedisKey)ActiveKey, queue = (RedisKey)QueueKey, limit, now = Now() });
        return result.IsNull ? null : result.ToString();
    }

    /// <summary>Records a report from the render; false when the export is no longer active (a sweep took it).</summary>
    public async Task<bool> TouchAsync(string member) =>
        (int)await Db.ScriptEvaluateAsync(TouchScript, new { active = (RedisKey)ActiveKey, member, now = Now() }) == 1;

    /// <summary>Ends an active export; true for the one caller that removed it (the worker, or a sweep that found it stale).</summary>
    public Task<bool> ReleaseAsync(string member) => Db.SortedSetRemoveAsync(ActiveKey, member);

    public Task<bool> DequeueAsync(string member) => Db.SortedSetRemoveAsync(QueueKey, member);

    /// <summary>Active exports whose last report is older than <paramref name="staleAfter"/>.</summary>
    public async Task<IReadOnlyList<string>> StaleAsync(TimeSpan staleAfter) =>
        [.. (await Db.SortedSetRangeByScoreAsync(ActiveKey, double.NegativeInfinity, Now() - staleAfter.TotalMilliseconds, Exclude.Stop)).Select(v => v.ToString())];

    /// <summary>
    /// Registers a warm render pod (<c>renders:warm</c>, scored by when it expires) before it is created: one whose replica
    /// stops confirming it is found by <see cref="ExpiredWarmPodsAsync"/> in any replica and deleted.
    /// </summary>
    public Task AddWarmPodAsync(string podId, TimeSpan expiresIn) => Db.SortedSetAddAsync(WarmKey, podId, Now() + expiresIn.TotalMilliseconds);

    /// <summary>Keeps a warm pod registered for <paramref name="expiresIn"/> more, unless a sweep removed it.</summary>
    public Task ConfirmWarmPodAsync(string podId, TimeSpan expiresIn) =>
        Db.SortedSetAddAsync(WarmKey, podId, Now() + expiresIn.TotalMilliseconds, SortedSetWhen.Exists);

    /// <summary>Ends a warm pod's registration; true for the one caller that removed it.</summary>
    public Task<bool> RemoveWarmPodAsync(string podId) => Db.SortedSetRemoveAsync(WarmKey, podId);

    public async Task<IReadOnlyList<string>> ExpiredWarmPodsAsync() =>
        [.. (await Db.SortedSetRangeByScoreAsync(WarmKey, double.NegativeInfinity, Now(), Exclude.Stop)).Select(v => v.ToString())];

    public Task SetRenderPodAsync(string exportId, string projectId, Uri filesUrl, string podSecret) =>
        Db.HashSetAsync(RedisKeys.RenderPod(exportId), [new("projectId", projectId), new("filesUrl", filesUrl.ToString()), new("podSecret", podSecret)]);

    public Task ClearRenderPodAsync(string exportId) => Db.KeyDeleteAsync(RedisKeys.RenderPod(exportId));

    /// <summary>Tells live clients (the studio's progress bar) where an export is.</summary>
    public Task PublishAsync(Export export)
    {
        ArgumentNullException.ThrowIfNull(export);
        var message = JsonSerializer.Serialize(new
        {
            projectId = export.ProjectId,
            exportId = export.Id,
            status = export.Status,
            progress = export.Progress,
            lastUpdate = export.LastUpdate,
            error = export.Error,
        });
        return redis.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.ExportEventsChannel), message);
    }

    private static string UserKey(string userId) => $"exports:user:{userId}";

    private double Now() => time.GetUtcNow().ToUnixTimeMilliseconds();
}
