using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.GoogleCloud;

using StoryDream.Bench;

namespace GoogleCloudBench;

/// <summary>One part of the benchmark (Firestore, Cloud Storage...): measures its calls and prints its table.</summary>
internal interface IBenchmarkSection
{
    /// <summary>What <c>--section</c> selects it by.</summary>
    string Name { get; }

    Task RunAsync(BenchmarkContext context);
}

/// <summary>What the sections share: the sample sizes and the emulators, each started once on a free port and stopped at the end.</summary>
internal sealed class BenchmarkContext(int n, int warmup) : IAsyncDisposable
{
    private readonly Dictionary<string, Task<ServerProcess>> _servers = [];

    public int N { get; } = n;

    public int Warmup { get; } = warmup;

    /// <summary><c>host:port</c> of the server that <c>eng/servers/{script}</c> runs (firestore.sh, storage.sh...).</summary>
    public async Task<string> ServerAsync(string script)
    {
        if (!_servers.TryGetValue(script, out var server))
        {
            server = ServerProcess.StartAsync(script);
            _servers[script] = server;
        }
        return (await server).Endpoint;
    }

    /// <summary>The clients as an application registers them (AddGoogleCloud), with these <c>GoogleCloud:</c> settings.</summary>
    public static ServiceProvider GoogleCloudServices(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(setting => KeyValuePair.Create($"{GoogleCloudOptions.SectionName}:{setting.Key}", (string?)setting.Value)))
            .Build();
        // Hosts register their configuration; StorageClientOptions binds from it.
        return new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddGoogleCloud(configuration).BuildServiceProvider();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers.Values)
        {
            if (server.IsCompletedSuccessfully)
            {
                await (await server).DisposeAsync();
            }
        }
    }
}
