using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Firestore;
using Google.Cloud.Storage.V1;
using StoryDream.Snapshots;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Snapshots;

/// <summary>
/// A snapshot store on the emulators, as the sync worker would build it, with its own Google Cloud project id and
/// bucket. Projects are made here the way the API makes them: a document with a head, and the template's entry.
/// </summary>
public sealed class SnapshotStoreFixture(TestServers servers) : IAsyncLifetime
{
    public const string TemplateId = "test";

    private ServiceProvider? _services;

    public string Bucket { get; } = "snapshots-" + Guid.NewGuid().ToString("N")[..16];

    public SnapshotStore Store => Get<SnapshotStore>();

    public FirestoreClient Firestore => Get<FirestoreClient>();

    public StorageClient Storage => Get<StorageClient>();

    public SnapshotManifest Template { get; private set; } = SnapshotManifest.Empty;

    public async ValueTask InitializeAsync() => _services = await BuildAsync(servers, Bucket, []);

    public async ValueTask DisposeAsync()
    {
        if (_services is not null) { await _services.DisposeAsync(); }
    }

    public T Get<T>() where T : notnull => (_services ?? throw new InvalidOperationException("Not initialized.")).GetRequiredService<T>();

    /// <summary>A service provider like a worker's: Google Cloud clients on the emulators plus the snapshot store.</summary>
    public static async Task<ServiceProvider> BuildAsync(TestServers servers, string bucket, Dictionary<string, string?> settings, Action<IServiceCollection>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var values = new Dictionary<string, string?>
        {
            ["GoogleCloud:ProjectId"] = "s-" + Guid.NewGuid().ToString("N")[..20],
            ["GoogleCloud:FirestoreEmulatorHost"] = await servers.FirestoreEmulatorHostAsync(),
            ["GoogleCloud:StorageEmulatorHost"] = await servers.StorageEmulatorHostAsync(),
            ["GoogleCloud:Storage:Bucket"] = bucket,
        };
        foreach (var (key, value) in settings) { values[key] = value; }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddGoogleCloud(configuration);
        services.AddSnapshotStore();
        configure?.Invoke(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    /// <summary>Seeds a small template and creates a project whose head is its snapshot; returns the project id.</summary>
    public async Task<string> CreateProjectAsync()
    {
        var files = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal)
        {
            ["src/App.tsx"] = Encoding.UTF8.GetBytes("export const App = () => null;\n"),
            ["src/main.tsx"] = Encoding.UTF8.GetBytes("import { App } from './App';\n"),
        };
        Template = SnapshotManifest.Create(files.Select(f => new ManifestEntry(f.Key, Sha256Hex.Of(f.Value.Span), f.Value.Length)));
        await Store.WriteTemplateAsync(TemplateId, files, Template, TestContext.Current.CancellationToken);
        var projectId = Guid.NewGuid().ToString("D");
        await Firestore.CommitAsync(
        [
            Write.Create(SnapshotDocuments.Project(projectId), new Dictionary<string, object?> { [SnapshotDocuments.HeadField] = Template.Id }),
            SnapshotDocuments.TemplateEntry(projectId, TemplateId, Template.Id, Template.FileCount, Template.TotalBytes),
        ], TestContext.Current.CancellationToken);
        return projectId;
    }

    public async Task<SnapshotManifest> WithFilesAsync(SnapshotManifest parent, params (string Path, string Content)[] files)
    {
        ArgumentNullException.ThrowIfNull(parent);
        var entries = parent.Entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        foreach (var (path, content) in files)
        {
            var bytes = Encoding.UTF8.GetBytes(content);
            entries[path] = new ManifestEntry(path, await Store.PutBlobAsync(bytes, TestContext.Current.CancellationToken), bytes.Length);
        }
        return SnapshotManifest.Create(entries.Values);
    }
}
