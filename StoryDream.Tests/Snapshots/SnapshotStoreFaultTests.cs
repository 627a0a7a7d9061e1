using System.Text;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Snapshots;
using StoryDream.Tests.GoogleCloud.Storage;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Snapshots;

/// <summary>
/// The snapshot store's own calls through the registered client, with bytes damaged at the HTTP layer under the
/// library's handlers (what its checks see is what a damaged wire would give them).
/// </summary>
public sealed class SnapshotStoreFaultTests(TestServers servers)
{
    private const int Timeout = 60_000;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = Timeout)]
    public async Task DownloadBlob_BytesCorruptedInTransit_ThrowsOnTheHashMismatch()
    {
        var bucket = "faults-" + Guid.NewGuid().ToString("N")[..16];
        var content = StorageTestServices.RandomBytes(64 * 1024);
        string sha256;
        await using (var intact = await SnapshotStoreFixture.BuildAsync(servers, bucket, []))
        {
            sha256 = await intact.GetRequiredService<SnapshotStore>().PutBlobAsync(content, Ct);
        }
        await using var services = await SnapshotStoreFixture.BuildAsync(servers, bucket, [],
            s => s.AddSingleton(new StorageTransport(inner => new CorruptDownloadHandler(inner))));
        using var destination = new MemoryStream();

        var error = await Assert.ThrowsAnyAsync<IOException>(() => services.GetRequiredService<SnapshotStore>().DownloadBlobAsync(sha256, destination, Ct));

        Assert.Contains("hash", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = Timeout)]
    public async Task ReadBlob_BytesCorruptedInTransit_RefusedByItsSha256()
    {
        var bucket = "faults-" + Guid.NewGuid().ToString("N")[..16];
        var content = Encoding.UTF8.GetBytes($"blob {Guid.NewGuid()}");
        string sha256;
        await using (var intact = await SnapshotStoreFixture.BuildAsync(servers, bucket, []))
        {
            sha256 = await intact.GetRequiredService<SnapshotStore>().PutBlobAsync(content, Ct);
        }
        await using var services = await SnapshotStoreFixture.BuildAsync(servers, bucket, [],
            s => s.AddSingleton(new StorageTransport(inner => new CorruptDownloadHandler(inner))));

        var error = await Assert.ThrowsAsync<InvalidManifestException>(() => services.GetRequiredService<SnapshotStore>().ReadBlobAsync(sha256, content.Length, Ct));

        Assert.Contains("does not hash to its name", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Cloud Storage refuses an upload whose bytes do not match the CRC-32C sent with it; the emulator checks none, so
    /// what is shown here is that the store's uploads send the hash of the bytes they were given, and that the damaged
    /// bytes the emulator kept never reach a reader that checks the blob's SHA-256.
    /// </summary>
    [Fact(Timeout = Timeout)]
    public async Task PutBlob_BytesCorruptedInTransit_SendsTheCrc32cOfTheIntactBytes()
    {
        var bucket = "faults-" + Guid.NewGuid().ToString("N")[..16];
        var corrupt = new CorruptUpload();
        await using var services = await SnapshotStoreFixture.BuildAsync(servers, bucket, [], s => s.AddSingleton(new StorageTransport(corrupt.Wrap)));
        var store = services.GetRequiredService<SnapshotStore>();
        var content = StorageTestServices.RandomBytes(8 * 1024);
        string intactCrc32c;
        await using (var intact = await SnapshotStoreFixture.BuildAsync(servers, bucket, []))
        {
            // The emulator's own CRC-32C of the intact bytes.
            using var source = new MemoryStream(content);
            var reference = await intact.GetRequiredService<StorageClient>().UploadObjectAsync(bucket, "intact.bin", "application/octet-stream", source, cancellationToken: Ct);
            intactCrc32c = reference.Crc32c;
        }

        var sha256 = await store.PutBlobAsync(content, Ct);

        var sent = Assert.Single(corrupt.HashesSent);
        Assert.Contains($"crc32c={intactCrc32c}", sent, StringComparison.Ordinal);
        var stored = await services.GetRequiredService<StorageClient>().GetObjectAsync(bucket, SnapshotObjectNames.Blob(sha256), cancellationToken: Ct);
        Assert.NotEqual(intactCrc32c, stored.Crc32c);
        await Assert.ThrowsAsync<InvalidManifestException>(() => store.ReadBlobAsync(sha256, content.Length, Ct));
    }
}
