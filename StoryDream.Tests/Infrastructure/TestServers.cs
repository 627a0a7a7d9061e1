using StoryDream.Tests.Infrastructure;

[assembly: AssemblyFixture(typeof(TestServers))]

namespace StoryDream.Tests.Infrastructure;

/// <summary>
/// Real Redis, Firestore emulator and Storage emulator, each started once per test run on a free loopback
/// port the first time a test asks for it. Tests share them and make their own ids, so they never collide.
/// </summary>
public sealed class TestServers : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly Lazy<Task<LauncherProcess>> _redis = new(() => LauncherProcess.StartAsync("bash", ["eng/servers/redis.sh", Port()], StartTimeout));
    private readonly Lazy<Task<LauncherProcess>> _firestore = new(() => LauncherProcess.StartAsync("bash", ["eng/servers/firestore.sh", Port()], StartTimeout));
    private readonly Lazy<Task<LauncherProcess>> _storage = new(() => LauncherProcess.StartAsync("bash", ["eng/servers/storage.sh", Port()], StartTimeout));

    public TestServers()
    {
        // Nothing here may ever reach the GCE metadata server; point any probe at a closed loopback port.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GCE_METADATA_HOST")))
        {
            Environment.SetEnvironmentVariable("GCE_METADATA_HOST", $"127.0.0.1:{LauncherProcess.FreePort()}");
        }
    }

    /// <summary>StackExchange.Redis connection string of the shared Redis.</summary>
    public async Task<string> RedisAsync() => (await _redis.Value).Endpoint;

    /// <summary><c>host:port</c> for <c>FIRESTORE_EMULATOR_HOST</c>.</summary>
    public async Task<string> FirestoreEmulatorHostAsync() => (await _firestore.Value).Endpoint;

    /// <summary><c>host:port</c> for <c>STORAGE_EMULATOR_HOST</c>.</summary>
    public async Task<string> StorageEmulatorHostAsync() => (await _storage.Value).Endpoint;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var server in new[] { _redis, _firestore, _storage })
        {
            if (server.IsValueCreated && server.Value.IsCompletedSuccessfully)
            {
                await (await server.Value).DisposeAsync();
            }
        }
    }

    private static string Port() => LauncherProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
