using System.Globalization;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.SyncWorker.Jobs;

/// <summary>
/// <c>XREADGROUP … BLOCK</c> on a connection of its own. StackExchange.Redis has no blocking read because a blocked
/// command stalls every other command on its connection; with a connection used for nothing else that is harmless,
/// and a job is picked up the moment it is added instead of at the next poll.
/// </summary>
internal sealed class BlockingReader(string configuration) : IAsyncDisposable
{
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private ConnectionMultiplexer? _connection;

    public async Task<IReadOnlyList<DeliveredEntry>> ReadGroupAsync(string consumer, int count, TimeSpan block)
    {
        var connection = await ConnectAsync();
        var result = await connection.GetDatabase().ExecuteAsync("XREADGROUP",
            "GROUP", RedisKeys.SyncWorkersGroup, consumer,
            "COUNT", count.ToString(CultureInfo.InvariantCulture),
            "BLOCK", ((long)block.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            "STREAMS", RedisKeys.SyncJobsStream, ">");
        return Parse(result);
    }

    /// <summary>
    /// Reads the reply: nil on timeout, else per stream its name and <c>[[id, [field, value, …]], …]</c>: under RESP2 an
    /// array of <c>[name, entries]</c> pairs, under RESP3 a map from name to entries (seen as a flat key, value array).
    /// </summary>
    internal static IReadOnlyList<DeliveredEntry> Parse(RedisResult result)
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
                options.ClientName = "storydream-syncworker-reader";
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
