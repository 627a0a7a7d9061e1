using System.Globalization;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.SessionGateway.Models;

/// <summary>Tokens of one model answer, from its <c>usage</c> (DESIGN section 8: metered per session and per user).</summary>
internal sealed record TokenUsage(long Input, long Output, long CacheCreation, long CacheRead)
{
    public long Billed => Input + Output + CacheCreation;
}

/// <summary>
/// Usage counters in Redis: <c>usage:session:{id}</c> for the session's lifetime and <c>usage:user:{id}:{yyyy-MM-dd}</c>
/// per UTC day (kept two days), each a hash of <c>input</c>, <c>output</c>, <c>cacheCreation</c>, <c>cacheRead</c>.
/// </summary>
internal sealed class ModelUsage(IConnectionMultiplexer redis, TimeProvider time)
{
    private static readonly TimeSpan DayKeyLifetime = TimeSpan.FromDays(2);
    private static readonly TimeSpan SessionKeyLifetime = TimeSpan.FromDays(30);

    public static string SessionKey(string sessionId) => $"usage:session:{sessionId}";

    private const string UserDayPrefix = "usage:user:";

    // The session's owner and token hash, and what that owner has spent today (billed tokens), in one round trip: the
    // agent waits on this before every model call. The day key is named from the owner the record holds.
    private static readonly LuaScript SessionAndSpendScript = LuaScript.Prepare("""
        local session = redis.call('HMGET', @sessionKey, 'ownerId', 'modelTokenHash')
        if not session[1] then return false end
        local spent = redis.call('HMGET', @dayPrefix .. session[1] .. @daySuffix, 'input', 'output', 'cacheCreation')
        return {session[1], session[2] or '', spent[1] or '0', spent[2] or '0', spent[3] or '0'}
        """);

    public static string UserDayKey(string userId, DateTimeOffset day) => UserDayPrefix + userId + DaySuffix(day);

    private static string DaySuffix(DateTimeOffset day) => ":" + day.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The session's owner and model token hash with the owner's spend today; null when the session has no record.</summary>
    public async Task<(string OwnerId, string TokenHash, long SpentToday)?> SessionAndSpendAsync(string sessionId)
    {
        var result = await redis.GetDatabase().ScriptEvaluateAsync(SessionAndSpendScript, new
        {
            sessionKey = (RedisKey)RedisKeys.Session(sessionId),
            dayPrefix = UserDayPrefix,
            daySuffix = DaySuffix(time.GetUtcNow()),
        });
        if (result.IsNull || result.Resp2Type != ResultType.Array) { return null; }
        var values = (RedisValue[])result!;
        return (values[0].ToString(), values[1].ToString(), (long)values[2] + (long)values[3] + (long)values[4]);
    }

    public async Task RecordAsync(string sessionId, string userId, TokenUsage usage)
    {
        var db = redis.GetDatabase();
        var dayKey = UserDayKey(userId, time.GetUtcNow());
        var batch = db.CreateBatch();
        var writes = new List<Task>();
        foreach (var key in new[] { SessionKey(sessionId), dayKey })
        {
            writes.Add(batch.HashIncrementAsync(key, "input", usage.Input));
            writes.Add(batch.HashIncrementAsync(key, "output", usage.Output));
            writes.Add(batch.HashIncrementAsync(key, "cacheCreation", usage.CacheCreation));
            writes.Add(batch.HashIncrementAsync(key, "cacheRead", usage.CacheRead));
        }
        writes.Add(batch.KeyExpireAsync(dayKey, DayKeyLifetime));
        writes.Add(batch.KeyExpireAsync(SessionKey(sessionId), SessionKeyLifetime));
        batch.Execute();
        await Task.WhenAll(writes);
    }
}
