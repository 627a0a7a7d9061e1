using System.Globalization;
using StackExchange.Redis;

namespace StoryDream.Sessions;

/// <summary>One entry of a stream as delivered to a consumer of a group: its stream id and raw fields.</summary>
public sealed record DeliveredEntry(string Id, NameValueEntry[] Fields);

/// <summary>
/// <c>XREADGROUP … BLOCK</c> on a connection of its own. StackExchange.Redis has no blocking read because a blocked
/// command stalls every other command on its connection; with a connection used for nothing else that is harmless,
/// and a job is picked up the moment it is added instead of at the next poll. One reader per stream and group: the sync
/// worker's on <c>sync:jobs</c>, the API's headless runner on <c>headless:jobs</c>.
/// </summary>
public sealed class BlockingReader(string configuration, string stream, string group, string clientName) : IAsyncDisposable
{
    /// <summary>The sync worker's reader of <c>sync:jobs</c> in the <c>sync-workers</c> group.</summary>
    public static BlockingReader ForSyncJobs(string configuration) =>
        new(configuration, RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup, "storydream-syncworker-reader");

    /// <summary>The longest block a read may ask for; the connection's command timeout is this and 5 s more.</summary>
    public static readonly TimeSpan MaxBlock = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private ConnectionMultiplexer? _connection;

    public async Task<IReadOnlyList<DeliveredEntry>> ReadGroupAsync(string consumer, int count, TimeSpan block)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(block, MaxBlock);
        var connection = await ConnectAsync();
        var result = await connection.GetDatabase().ExecuteAsync("XREADGROUP",
            "GROUP", group, consumer,
            "COUNT", count.ToString(CultureInfo.InvariantCulture),
            "BLOCK", ((long)block.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            "STREAMS", stream, ">");
        return Parse(result);
    }

    /// <summary>
    /// Reads the reply: nil on timeout, else per stream its name and <c>[[id, [field, value, …]], …]</c>: under RESP2 an
    /// array of <c>[name, entries]</c> pairs, under RESP3 a map from name to entries (seen as a flat key, value array).
    /// </summary>
    public static IReadOnlyList<DeliveredEntry> Parse(RedisResult result)
    {
        if (result.IsNull || result.Length == 0) { return []; }
        var top = (RedisResult[])result!;
        var streams = result.Resp3Type == ResultType.Map
            ? top.Where((_, i) => i % 2 == 1)
            : top.Select(pair => ((RedisResult[])pair!)[1]);
        var entries = new List<DeliveredEntry>();
        foreach (var streamEntries in streams)
        {
            foreach (var entry in (RedisResult[])streamEntries!)
            {
                var idAndFields = (RedisResult[])entry!;
                var id = idAndFields[0].ToString();
                var flat = idAndFields[1].IsNull ? [] : (RedisResult[])idAndFields[1]!;
                var fields = new NameValueEntry[flat.Length / 2];
                for (var i = 0; i < fields.Length; i++)
                {
                    fields[i] = new NameValueEntry(flat[2 * i].ToString(), flat[(2 * i) + 1].ToString());
                }
                entries.Add(new DeliveredEntry(id, fields));
            }
        }
        return entries;
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        if (_connection is { } existing) { return existing; }
        await _connectLock.WaitAsync();
        try
        {
            if (_connection is null)
            {
                var options = ConfigurationOptions.Parse(configuration);
                options.AbortOnConnectFail = false;
                options.ClientName = clientName;
                // A blocked read answers only when its block ends: with the default timeout (5 s) a block of 5 s or
                // more would fail as a timeout (the headless runner blocks 5 s).
                options.AsyncTimeout = (int)(MaxBlock + TimeSpan.FromSeconds(5)).TotalMilliseconds;
                _connection = await ConnectionMultiplexer.ConnectAsync(options);
            }
            return _connection;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null) { await _connection.DisposeAsync(); }
        _connectLock.Dispose();
    }
}
