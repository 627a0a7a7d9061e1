using StackExchange.Redis;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

/// <summary>
/// A Redis logical database of its own for one test. The sync worker's stream and consumer group have fixed names
/// (DESIGN section 2), so tests that run workers side by side would take each other's jobs in one database. Databases
/// 1 to 15 are leased out (0 is left to other tests) and flushed before use. Pub/sub channels span databases; tests
/// tell their events apart by job id.
/// </summary>
internal sealed class RedisDatabaseLease : IAsyncDisposable
{
    private const int First = 1;
    private const int Count = 15;
    private static readonly SemaphoreSlim Free = new(Count, Count);
    private static readonly bool[] Taken = new bool[Count];

    private RedisDatabaseLease(int database, string endpoint, ConnectionMultiplexer connection)
    {
        Database = database;
        Endpoint = endpoint;
        Connection = connection;
    }

    public int Database { get; }

    public string Endpoint { get; }

    /// <summary>The connection string a worker uses to land in this database.</summary>
    public string ConnectionString => $"{Endpoint},defaultDatabase={Database}";

    public ConnectionMultiplexer Connection { get; }

    public IDatabase Db => Connection.GetDatabase(Database);

    public static async Task<RedisDatabaseLease> RentAsync(TestServers servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var endpoint = await servers.RedisAsync();
        await Free.WaitAsync(TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken);
        int index;
        lock (Taken)
        {
            index = Array.IndexOf(Taken, false);
            Taken[index] = true;
        }
        var connection = await ConnectionMultiplexer.ConnectAsync($"{endpoint},allowAdmin=true");
        await connection.GetServer(endpoint).FlushDatabaseAsync(First + index);
        return new RedisDatabaseLease(First + index, endpoint, connection);
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        lock (Taken) { Taken[Database - First] = false; }
        Free.Release();
    }
}
