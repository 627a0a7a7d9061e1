using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Api.Headless;

/// <summary>
/// The <c>headless:jobs</c> stream (field <c>jobId</c>) read through the <c>headless-runners</c> consumer group, as
/// <c>sync:jobs</c> is read by the sync workers: new entries by a blocking read, entries of a dead runner claimed once idle,
/// entries in progress kept fresh by their runner, and acknowledged only once the job's outcome is stored. Each job also
/// takes <c>headless:job:{id}:lock</c> while it runs, so a claim that races a slow runner cannot run a job twice at once.
/// </summary>
internal sealed class HeadlessQueue(IConnectionMultiplexer redis, BlockingReader reader) : IAsyncDisposable
{
    public const string Stream = "headless:jobs";
    public const string Group = "headless-runners";
    private const int MaxStreamLength = 100_000;

    private IDatabase Db => redis.GetDatabase();

    public static string LockKey(string jobId) => $"headless:job:{jobId}:lock";

    public async Task EnsureGroupAsync()
    {
        try
        {
            await Db.StreamCreateConsumerGroupAsync(Stream, Group, "0", createStream: true);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }
    }

    public async Task EnqueueAsync(string jobId) =>
        await Db.StreamAddAsync(Stream, [new NameValueEntry("jobId", jobId)], maxLength: MaxStreamLength, useApproximateMaxLength: true);

    public async Task<IReadOnlyList<DeliveredEntry>> ReadNewAsync(string consumer, int count, TimeSpan block)
    {
        try
        {
            return await reader.ReadGroupAsync(consumer, count, block);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            await EnsureGroupAsync();
            return [];
        }
    }

    /// <summary>Entries pending longer than <paramref name="minIdle"/>: their runner died.</summary>
    public async Task<IReadOnlyList<DeliveredEntry>> ClaimIdleAsync(string consumer, TimeSpan minIdle, int count)
    {
        var claimed = new List<DeliveredEntry>();
        RedisValue cursor = "0-0";
        do
        {
            var result = await Db.StreamAutoClaimAsync(Stream, Group, consumer, (long)minIdle.TotalMilliseconds, cursor, count - claimed.Count);
            claimed.AddRange(result.ClaimedEntries.Where(e => !e.IsNull).Select(e => new DeliveredEntry(e.Id.ToString(), e.Values)));
            cursor = result.NextStartId;
        }
        while (cursor != "0-0" && claimed.Count < count);
        return claimed;
    }

    /// <summary>Resets the idle time of entries in progress, so no other runner claims them.</summary>
    public async Task TouchAsync(string consumer, IReadOnlyCollection<string> entryIds)
    {
        if (entryIds.Count == 0) { return; }
        await Db.StreamClaimIdsOnlyAsync(Stream, Group, consumer, 0, [.. entryIds.Select(id => (RedisValue)id)]);
    }

    public Task AcknowledgeAsync(string entryId) => Db.StreamAcknowledgeAsync(Stream, Group, entryId);

    public Task<bool> TryLockAsync(string jobId, string token, TimeSpan ttl) => Db.LockTakeAsync(LockKey(jobId), token, ttl);

    public Task RenewLockAsync(string jobId, string token, TimeSpan ttl) => Db.LockExtendAsync(LockKey(jobId), token, ttl);

    public Task ReleaseLockAsync(string jobId, string token) => Db.LockReleaseAsync(LockKey(jobId), token);

    public ValueTask DisposeAsync() => reader.DisposeAsync();
}
