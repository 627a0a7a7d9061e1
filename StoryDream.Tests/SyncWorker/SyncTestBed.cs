using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.SyncWorker;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

/// <summary>
/// Everything a sync worker test needs around the worker: a Redis database of its own, a Firestore project id and a
/// bucket of its own on the shared emulators, projects seeded the way the API seeds them, sessions pointing at pods,
/// jobs on the stream and the <c>sync-events</c> they end with. Workers run in this process or as separate processes
/// with the same settings.
/// </summary>
internal sealed class SyncTestBed : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<SyncEvent>> _events = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _eventCounts = new(StringComparer.Ordinal);
    private readonly ServiceProvider _services;
    private readonly List<WebApplication> _workers = [];

    private SyncTestBed(RedisDatabaseLease redis, Dictionary<string, string?> settings, ServiceProvider services)
    {
        Redis = redis;
        Settings = settings;
        _services = services;
    }

    public RedisDatabaseLease Redis { get; }

    /// <summary>The workers' configuration (keys as in appsettings, <c>:</c>-separated).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; }

    public ISnapshotStore Store => _services.GetRequiredService<ISnapshotStore>();

    public FirestoreClient Firestore => _services.GetRequiredService<FirestoreClient>();

    public StorageClient Storage => _services.GetRequiredService<StorageClient>();

    public static async Task<SyncTestBed> CreateAsync(TestServers servers, IDictionary<string, string?>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var redis = await RedisDatabaseLease.RentAsync(servers);
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ConnectionStrings:redis"] = redis.ConnectionString,
            ["GoogleCloud:ProjectId"] = $"sync-{suffix}",
            ["GoogleCloud:FirestoreEmulatorHost"] = await servers.FirestoreEmulatorHostAsync(),
            ["GoogleCloud:StorageEmulatorHost"] = await servers.StorageEmulatorHostAsync(),
            ["GoogleCloud:Storage:Bucket"] = $"sync-{suffix}",
            ["SyncWorker:ClaimIdleTime"] = "00:00:02",
            ["SyncWorker:ClaimInterval"] = "00:00:00.500",
            ["SyncWorker:LockTime"] = "00:00:03",
            ["SyncWorker:ReadBlockTime"] = "00:00:00.500",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>()) { settings[key] = value; }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddGoogleCloud(configuration)
            .AddSnapshotStore()
            .BuildServiceProvider();
        var bed = new SyncTestBed(redis, settings, services);
        await redis.Connection.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisKeys.SyncEventsChannel), (_, message) =>
        {
            if (SyncEvent.FromJson(message.ToString()) is { } parsed)
            {
                bed._eventCounts.AddOrUpdate(parsed.JobId, 1, (_, n) => n + 1);
                bed._events.GetOrAdd(parsed.JobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(parsed);
            }
        });
        return bed;
    }

    /// <summary>Environment variables that give a worker process these settings.</summary>
    public Dictionary<string, string> Environment() =>
        Settings.Where(s => s.Value is not null).ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!, StringComparer.Ordinal);

    /// <summary>A worker hosted in this process exactly as Program hosts it, on a free loopback port.</summary>
    public async Task<WorkerHandle> StartWorkerAsync(string? consumerName = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(Settings);
        if (consumerName is not null) { builder.Configuration["SyncWorker:ConsumerName"] = consumerName; }
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.AddServiceDefaults();
        builder.AddSyncWorkerServices();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync(TestContext.Current.CancellationToken);
        _workers.Add(app);
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new WorkerHandle(app, new Uri(address));
    }

    /// <summary>A project created from a template holding <paramref name="files"/>, as the API creates one; returns its head.</summary>
    public async Task<(string ProjectId, string HeadSnapshotId)> CreateProjectAsync(IReadOnlyDictionary<string, byte[]> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var ct = TestContext.Current.CancellationToken;
        var projectId = Guid.NewGuid().ToString();
        var templateId = "t-" + Guid.NewGuid().ToString("N")[..12];
        var manifest = SnapshotManifest.Create(files.Select(f => new ManifestEntry(f.Key, Sha256Hex.Of(f.Value), f.Value.Length)));
        await Store.WriteTemplateAsync(templateId, files.ToDictionary(f => f.Key, f => (ReadOnlyMemory<byte>)f.Value), manifest, ct);
        await Firestore.CommitAsync(
        [
            Write.Create(SnapshotDocuments.Project(projectId), new Dictionary<string, object?>
            {
                ["ownerId"] = "user-" + projectId[..8],
                ["name"] = "Sync test",
                [SnapshotDocuments.HeadField] = manifest.Id,
            }),
            SnapshotDocuments.TemplateEntry(projectId, templateId, manifest.Id, manifest.FileCount, manifest.TotalBytes),
        ], ct);
        return (projectId, manifest.Id);
    }

    /// <summary>A <c>session:{id}</c> record naming the pod's file API, as the API writes it when it starts a session.</summary>
    public async Task<string> StartSessionAsync(string projectId, ITestPod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var sessionId = pod.SessionId;
        var now = DateTimeOffset.UtcNow;
        var record = new SessionRecord(sessionId, projectId, "owner", SessionStatus.Ready, "local",
            new Uri("http://127.0.0.1:1/"), new Uri("http://127.0.0.1:1/"), pod.FilesUrl, now, now, pod.PodSecret);
        await Redis.Db.HashSetAsync(RedisKeys.Session(sessionId), record.ToHashEntries());
        return sessionId;
    }

    public async Task<SyncJob> EnqueueAsync(string kind, string projectId, string sessionId, string reason = SyncReasons.AgentTurn, string? snapshotId = null)
    {
        var job = new SyncJob(Guid.NewGuid().ToString(), kind, projectId, sessionId, reason, kind == SyncKinds.Sync ? "msg-" + Guid.NewGuid().ToString("N")[..8] : null, snapshotId);
        _events.GetOrAdd(job.JobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        await Redis.Db.StreamAddAsync(RedisKeys.SyncJobsStream, job.ToStreamFields());
        return job;
    }

    public async Task<SyncEvent> WaitForEventAsync(string jobId, TimeSpan? timeout = null) =>
        await _events.GetOrAdd(jobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task
            .WaitAsync(timeout ?? TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

    /// <summary>How many events announced this job: exactly one, unless a job was reported twice.</summary>
    public int EventCount(string jobId) => _eventCounts.GetValueOrDefault(jobId);

    /// <summary>The whole history, newest first.</summary>
    public async Task<List<SnapshotEntry>> HistoryAsync(string projectId)
    {
        var entries = new List<SnapshotEntry>();
        HistoryCursor? cursor = null;
        do
        {
            var page = await Store.ListHistoryAsync(projectId, 100, cursor, TestContext.Current.CancellationToken);
            entries.AddRange(page.Entries);
            cursor = page.Next;
        }
        while (cursor is not null);
        return entries;
    }

    /// <summary>The content of every file of a snapshot, each blob read back from Cloud Storage and checked against its name.</summary>
    public async Task<Dictionary<string, byte[]>> ReadSnapshotFilesAsync(string projectId, string snapshotId)
    {
        var ct = TestContext.Current.CancellationToken;
        var tree = await Store.ReadTreeAsync(projectId, snapshotId, ct) ?? throw new InvalidOperationException($"No snapshot {snapshotId}.");
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var entry in tree.Entries)
        {
            using var buffer = new MemoryStream();
            await Storage.DownloadAsync(Storage.Bucket, SnapshotObjectNames.Blob(entry.Sha256), buffer, cancellationToken: ct);
            var content = buffer.ToArray();
            Assert.Equal(entry.Sha256, Sha256Hex.Of(content));
            Assert.Equal(entry.Size, content.Length);
            files[entry.Path] = content;
        }
        return files;
    }

    public async Task<bool> BlobExistsAsync(byte[] content) =>
        await Storage.ExistsAsync(Storage.Bucket, SnapshotObjectNames.Blob(Sha256Hex.Of(content)), TestContext.Current.CancellationToken);

    public async Task<long> PendingCountAsync() =>
        (await Redis.Db.StreamPendingAsync(RedisKeys.SyncJobsStream, RedisKeys.SyncWorkersGroup)).PendingMessageCount;

    public static string Stamp() => DateTime.UtcNow.Ticks.ToString(CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.StopAsync(CancellationToken.None);
            await worker.DisposeAsync();
        }
        await _services.DisposeAsync();
        await Redis.DisposeAsync();
    }

    internal sealed record WorkerHandle(WebApplication App, Uri Address)
    {
        public T Get<T>() where T : notnull => App.Services.GetRequiredService<T>();
    }
}
