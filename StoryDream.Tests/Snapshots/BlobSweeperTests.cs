using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using StoryDream.GoogleCloud.Firestore;
using Google.Cloud.Storage.V1;
using StoryDream.Snapshots;
using StoryDream.Tests.GoogleCloud.Storage;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Snapshots;

/// <summary>
/// The sweep against the Storage emulator, whose object times are real: the sweeper's clock is set so that its grace
/// cut-off falls just after the blobs the test wants old, and before everything written later.
/// </summary>
public sealed class BlobSweeperTests(TestServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 180_000)]
    public async Task Sweep_WhileWritersCommit_DeletesOnlyOldUnreferencedBlobs()
    {
        var bucket = "sweep-" + Guid.NewGuid().ToString("N")[..16];
        await using var writer = await SnapshotStoreFixture.BuildAsync(servers, bucket, []);
        var store = writer.GetRequiredService<SnapshotStore>();
        var storage = writer.GetRequiredService<StorageClient>();

        // Old and referenced (a template and a project's history), old and unreferenced (garbage).
        var projectId = await CreateProjectAsync(writer);
        var template = (await store.ReadTreeAsync(projectId, (await store.GetHeadAsync(projectId, Ct))!, Ct))!;
        var committed = await WithFileAsync(store, template, "src/kept.ts", "kept " + Guid.NewGuid());
        Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new SnapshotCommit(projectId, template.Id, committed, SnapshotAuthors.Agent, "kept"), Ct)).Status);
        var garbage = await store.PutBlobAsync(Encoding.UTF8.GetBytes("garbage " + Guid.NewGuid()), Ct);
        var garbageWritten = (await storage.GetMetadataAsync(bucket, SnapshotObjectNames.Blob(garbage), Ct)).TimeCreatedDateTimeOffset!.Value;
        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);

        var grace = TimeSpan.FromHours(1);
        var clock = new FakeTimeProvider(garbageWritten + TimeSpan.FromMilliseconds(500) + grace);
        await using var sweeperServices = await SnapshotStoreFixture.BuildAsync(servers, bucket, [], services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(clock)));
        var sweeper = sweeperServices.GetRequiredService<BlobSweeper>();

        // Writers keep putting new blobs and committing them a moment later, while sweeps run.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var head = committed;
        var writes = Task.Run(async () =>
        {
            for (var i = 0; i < 8; i++)
            {
                var next = await WithFileAsync(store, head, $"src/w{i}.ts", $"write {i} {Guid.NewGuid()}");
                await Task.Delay(200, Ct);
                Assert.Equal(CommitStatus.Committed, (await store.CommitAsync(new SnapshotCommit(projectId, head.Id, next, SnapshotAuthors.Agent, $"w{i}"), Ct)).Status);
                head = next;
            }
        }, Ct);
        var reports = new List<SweepReport>();
        while (!writes.IsCompleted) { reports.Add(await sweeper.SweepAsync(Ct)); }
        await writes;
        reports.Add(await sweeper.SweepAsync(Ct));

        Assert.False(await storage.ExistsAsync(bucket, SnapshotObjectNames.Blob(garbage), Ct));
        Assert.Equal(1, reports.Sum(r => r.Deleted));
        // Every blob of every manifest, old or new, is still there.
        var manifests = await storage.ListAsync(bucket, SnapshotObjectNames.RepoPrefix, Ct)
            .Concat(storage.ListAsync(bucket, SnapshotObjectNames.TemplatePrefix, Ct)).ToListAsync(Ct);
        Assert.True(manifests.Count >= 10);
        foreach (var manifest in manifests)
        {
            using var buffer = new MemoryStream();
            await storage.DownloadAsync(bucket, manifest.Name, buffer, Ct);
            foreach (var entry in SnapshotManifest.Parse(buffer.ToArray()).Entries)
            {
                Assert.True(await storage.ExistsAsync(bucket, SnapshotObjectNames.Blob(entry.Sha256), Ct), $"{manifest.Name} lost {entry.Path}");
            }
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Sweep_DeletedProject_ItsBlobsGoOnceOld()
    {
        var bucket = "sweep-" + Guid.NewGuid().ToString("N")[..16];
        await using var writer = await SnapshotStoreFixture.BuildAsync(servers, bucket, []);
        var store = writer.GetRequiredService<SnapshotStore>();
        var storage = writer.GetRequiredService<StorageClient>();
        var projectId = await CreateProjectAsync(writer);
        var template = (await store.ReadTreeAsync(projectId, (await store.GetHeadAsync(projectId, Ct))!, Ct))!;
        var tree = await WithFileAsync(store, template, "src/only-here.ts", "only here " + Guid.NewGuid());
        await store.CommitAsync(new SnapshotCommit(projectId, template.Id, tree, SnapshotAuthors.Agent, "x"), Ct);
        var sha = tree.Find("src/only-here.ts")!.Sha256;

        await store.DeleteHistoryAsync(projectId, Ct);
        var young = await SweepAtAsync(bucket, DateTimeOffset.UtcNow);
        var stillThere = await storage.ExistsAsync(bucket, SnapshotObjectNames.Blob(sha), Ct);
        var old = await SweepAtAsync(bucket, DateTimeOffset.UtcNow + TimeSpan.FromHours(2));

        Assert.True(stillThere);
        Assert.Equal(0, young.Deleted);
        Assert.False(await storage.ExistsAsync(bucket, SnapshotObjectNames.Blob(sha), Ct));
        Assert.Equal(1, old.Deleted);
        // The template's blobs are referenced by its manifest, which outlives every project.
        foreach (var entry in template.Entries)
        {
            Assert.True(await storage.ExistsAsync(bucket, SnapshotObjectNames.Blob(entry.Sha256), Ct));
        }
    }

    private async Task<SweepReport> SweepAtAsync(string bucket, DateTimeOffset now)
    {
        await using var services = await SnapshotStoreFixture.BuildAsync(servers, bucket, [],
            s => s.Replace(ServiceDescriptor.Singleton<TimeProvider>(new FakeTimeProvider(now))));
        return await services.GetRequiredService<BlobSweeper>().SweepAsync(Ct);
    }

    private static async Task<string> CreateProjectAsync(IServiceProvider services)
    {
        var store = services.GetRequiredService<SnapshotStore>();
        var files = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal) { ["src/App.tsx"] = "export default 1;\n"u8.ToArray() };
        var template = SnapshotManifest.Create(files.Select(f => new ManifestEntry(f.Key, Sha256Hex.Of(f.Value.Span), f.Value.Length)));
        await store.WriteTemplateAsync("sweep", files, template, Ct);
        var projectId = Guid.NewGuid().ToString("D");
        await services.GetRequiredService<FirestoreClient>().CommitAsync(
        [
            Write.Create(SnapshotDocuments.Project(projectId), new Dictionary<string, object?> { [SnapshotDocuments.HeadField] = template.Id }),
            SnapshotDocuments.TemplateEntry(projectId, "sweep", template.Id, template.FileCount, template.TotalBytes),
        ], Ct);
        return projectId;
    }

    private static async Task<SnapshotManifest> WithFileAsync(SnapshotStore store, SnapshotManifest parent, string path, string content)
    {
        var bytes = Encoding.UTF8.GetBytes(content);
        var sha = await store.PutBlobAsync(bytes, Ct);
        return SnapshotManifest.Create([.. parent.Entries.Where(e => e.Path != path), new ManifestEntry(path, sha, bytes.Length)]);
    }
}
