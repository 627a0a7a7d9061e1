using System.Globalization;
using StackExchange.Redis;

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

    public static string UserDayKey(string userId, DateTimeOffset day) => $"usage:user:{userId}:{day.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";

    /// <summary>What the user has spent today, in billed tokens.</summary>
    public async Task<long> SpentTodayAsync(string userId)
    {
        var values = await redis.GetDatabase().HashGetAsync(UserDayKey(userId, time.GetUtcNow()), ["input", "output", "cacheCreation"]);
        return values.Sum(v => v.IsNull ? 0 : (long)v);
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
