using System.Globalization;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.SyncWorker.Jobs;

/// <summary>A parsed job waiting for its project's lock holder, with its stream id.</summary>
internal sealed record PendingJob(string EntryId, SyncJob Job);

/// <summary>
/// The Redis side of the job flow: the <c>sync:jobs</c> stream read through the <c>sync-workers</c> consumer group,
/// claiming of entries a dead worker left, each project's set of pending jobs, acknowledgement with the
/// <c>sync-events</c> it announces, and the dead-letter stream for entries that cannot be run.
/// </summary>
internal sealed class SyncJobQueue(IConnectionMultiplexer redis, BlockingReader blockingReader)
{
    /// <summary>Entries that were dropped: malformed, or failed too often. Capped so it cannot grow without bound.</summary>
    public const string DeadLetterStream = "sync:jobs:dead";
    private const int DeadLetterMaxLength = 10_000;

    // Registers a delivered entry for its project only while it is still pending: an entry another worker has already
    // acknowledged must not come back as work.
    private static readonly LuaScript RegisterScript = LuaScript.Prepare("""
        local pending = redis.call('XPENDING', @stream, @group, @id, @id, 1)
        if #pending == 0 then return 0 end
        redis.call('HSET', @pendingKey, @id, @job)
        return 1
        """);

    // KEYS: lock, stream, pending set. ARGV: token, group, channel, then n entry ids and n event payloads.
    private const string CompleteScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        local n = (#ARGV - 3) / 2
        for i = 1, n do
          local id = ARGV[3 + i]
          redis.call('XACK', KEYS[2], ARGV[2], id)
          redis.call('HDEL', KEYS[3], id)
          redis.call('PUBLISH', ARGV[3], ARGV[3 + n + i])
        end
        return 1
        """;

    private IDatabase Db => redis.GetDatabase();

    public static string PendingKey(string projectId) => $"sync:project:{projectId}:pending";

    public async Task EnsureGroupAsync()
    {
        try
        {
            // From 0, not $: jobs enqueued before the first worker ever started must still be seen.
            await Db.StreamCreateConsumerGroupAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, "0", createStream: true);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
        }
    }

    /// <summary>New entries for <paramref name="consumer"/>, waiting up to <paramref name="block"/> for some to arrive.</summary>
    public async Task<IReadOnlyList<DeliveredEntry>> ReadNewAsync(string consumer, int count, TimeSpan block)
    {
        try
        {
            return await blockingReader.ReadGroupAsync(consumer, count, block);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOGROUP", StringComparison.Ordinal))
        {
            // The stream or group was deleted under us (an operator's FLUSHALL, say): make them again and go on.
            await EnsureGroupAsync();
            return [];
        }
    }

    /// <summary>Entries already delivered to <paramref name="consumer"/> and not yet acknowledged, oldest first.</summary>
    public async Task<IReadOnlyList<DeliveredEntry>> ReadOwnPendingAsync(string consumer, int pageSize)
    {
        var all = new List<DeliveredEntry>();
        // A position other than > reads the consumer's own pending list, from after that id, instead of new entries.
        RedisValue after = "0";
        while (true)
        {
            var page = await Db.StreamReadGroupAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, consumer, after, pageSize);
            all.AddRange(page.Where(e => !e.IsNull).Select(e => new DeliveredEntry(e.Id.ToString(), e.Values)));
            if (page.Length < pageSize) { return all; }
            after = page[^1].Id;
        }
    }

    /// <summary>
    /// Takes over entries pending longer than <paramref name="minIdle"/> (their worker died or gave up), up to
    /// <paramref name="count"/>, with the number of times each has been delivered so far.
    /// </summary>
    public async Task<IReadOnlyList<(DeliveredEntry Entry, long Deliveries)>> ClaimIdleAsync(string consumer, TimeSpan minIdle, int count)
    {
        var claimed = new List<DeliveredEntry>();
        RedisValue cursor = "0-0";
        do
        {
            var result = await Db.StreamAutoClaimAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, consumer,
                (long)minIdle.TotalMilliseconds, cursor, count - claimed.Count);
            claimed.AddRange(result.ClaimedEntries.Where(e => !e.IsNull).Select(e => new DeliveredEntry(e.Id.ToString(), e.Values)));
            cursor = result.NextStartId;
        }
        while (cursor != "0-0" && claimed.Count < count);

        var withCounts = new List<(DeliveredEntry, long)>(claimed.Count);
        foreach (var entry in claimed)
        {
            var info = await Db.StreamPendingMessagesAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, 1, RedisValue.Null, entry.Id, entry.Id);
            withCounts.Add((entry, info.Length == 1 ? info[0].DeliveryCount : 1));
        }
        return withCounts;
    }

    /// <summary>
    /// Removes group members that hold no entries and have not read for <paramref name="idleFor"/>: every worker process
    /// joins under a new name, so without this the group would list every process that ever ran.
    /// </summary>
    public async Task ForgetDeadConsumersAsync(TimeSpan idleFor)
    {
        foreach (var member in await Db.StreamConsumerInfoAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup))
        {
            if (member.PendingMessageCount == 0 && member.IdleTimeInMilliseconds > idleFor.TotalMilliseconds)
            {
                await Db.StreamDeleteConsumerAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, member.Name);
            }
        }
    }

    /// <summary>Adds a delivered job to its project's pending set; false when the entry was acknowledged meanwhile.</summary>
    public async Task<bool> RegisterAsync(string entryId, SyncJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var result = await Db.ScriptEvaluateAsync(RegisterScript, new
        {
            stream = (RedisKey)RedisKeys.SyncJobsStream,
            group = RedisKeys.SyncWorkersGroup,
            id = entryId,
            pendingKey = (RedisKey)PendingKey(job.ProjectId),
            job = SerializeFields(job.ToStreamFields()),
        });
        return (int)result == 1;
    }

    /// <summary>The project's pending jobs in stream order (oldest first); unreadable leftovers are dropped from the set.</summary>
    public async Task<IReadOnlyList<PendingJob>> PendingAsync(string projectId)
    {
        var entries = await Db.HashGetAllAsync(PendingKey(projectId));
        var jobs = new List<PendingJob>(entries.Length);
        foreach (var entry in entries)
        {
            var job = SyncJob.FromStreamFields(DeserializeFields(entry.Value.ToString()));
            if (job is null || job.ProjectId != projectId || StreamId.Parse(entry.Name.ToString()) is null)
            {
                await Db.HashDeleteAsync(PendingKey(projectId), entry.Name);
                continue;
            }
            jobs.Add(new PendingJob(entry.Name.ToString(), job));
        }
        jobs.Sort((a, b) => StreamId.Parse(a.EntryId)!.Value.CompareTo(StreamId.Parse(b.EntryId)!.Value));
        return jobs;
    }

    /// <summary>Moves entries into this consumer's pending list and resets their idle time, so no one claims work in progress.</summary>
    public async Task TouchAsync(string consumer, IReadOnlyCollection<string> entryIds)
    {
        if (entryIds.Count == 0) { return; }
        // JUSTID: a touch is not a delivery, so the delivery count that decides dead-lettering stays as it is.
        await Db.StreamClaimIdsOnlyAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, consumer, 0,
            [.. entryIds.Select(id => (RedisValue)id)]);
    }

    /// <summary>
    /// Acknowledges finished jobs, drops them from the pending set and announces each result, atomically and only while
    /// <paramref name="lockToken"/> still holds the project's lock: a worker that stalled past its lock's expiry cannot
    /// announce a job that the new holder is running too, so each job is announced once. False when the lock was lost.
    /// </summary>
    public async Task<bool> CompleteAsync(string projectId, string lockToken, IReadOnlyList<(string EntryId, SyncEvent Event)> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0) { return true; }
        RedisValue[] args =
        [
            lockToken, RedisKeys.SyncWorkersGroup, RedisKeys.SyncEventsChannel,
            .. results.Select(r => (RedisValue)r.EntryId),
            .. results.Select(r => (RedisValue)r.Event.ToJson()),
        ];
        var done = await Db.ScriptEvaluateAsync(CompleteScript,
            [ProjectLock.Key(projectId), RedisKeys.SyncJobsStream, PendingKey(projectId)], args);
        return (int)done == 1;
    }

    /// <summary>
    /// Moves an entry that cannot be run to the dead-letter stream with the reason, acknowledges it, and, when it is a
    /// readable job, announces that it failed.
    /// </summary>
    public async Task DeadLetterAsync(DeliveredEntry entry, SyncJob? job, string error)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var fields = entry.Fields
            .Where(f => f.Name != "deadLetterId" && f.Name != "deadLetterError")
            .Append(new NameValueEntry("deadLetterId", entry.Id))
            .Append(new NameValueEntry("deadLetterError", error))
            .ToArray();
        var transaction = Db.CreateTransaction();
        _ = transaction.StreamAddAsync(DeadLetterStream, fields, maxLength: DeadLetterMaxLength, useApproximateMaxLength: true);
        _ = transaction.StreamAcknowledgeAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, entry.Id);
        if (job is not null)
        {
            _ = transaction.HashDeleteAsync(PendingKey(job.ProjectId), entry.Id);
            _ = transaction.PublishAsync(RedisChannel.Literal(RedisKeys.SyncEventsChannel),
                new SyncEvent(job.JobId, job.ProjectId, SyncEvent.Failed, Error: error).ToJson());
        }
        if (!await transaction.ExecuteAsync())
        {
            throw new InvalidOperationException("The Redis transaction that dead-letters a sync job did not run.");
        }
    }

    private static string SerializeFields(NameValueEntry[] fields) =>
        System.Text.Json.JsonSerializer.Serialize(fields.ToDictionary(f => f.Name.ToString(), f => f.Value.ToString(), StringComparer.Ordinal));

    private static NameValueEntry[] DeserializeFields(string json)
    {
        try
        {
            var map = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(json);
            return map is null ? [] : [.. map.Select(p => new NameValueEntry(p.Key, p.Value))];
        }
        catch (System.Text.Json.JsonException)
        {
            return [];
        }
    }
}

/// <summary>A stream entry id <c>ms-seq</c>, ordered numerically (their text does not sort once the digits differ in count).</summary>
internal readonly record struct StreamId(ulong Milliseconds, ulong Sequence) : IComparable<StreamId>
{
    public static StreamId? Parse(string text)
    {
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && ulong.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            && ulong.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            ? new StreamId(ms, seq)
            : null;
    }

    public int CompareTo(StreamId other) =>
        Milliseconds != other.Milliseconds ? Milliseconds.CompareTo(other.Milliseconds) : Sequence.CompareTo(other.Sequence);
}
