using System.Text;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Storage;

/// <summary>The single-request upload and the CRC-32C checked download, against the real emulator.</summary>
public sealed class StorageTransfersTests(TestServers servers)
{
    private const int Timeout = 60_000;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Crc32C_CheckValue_IsTheCastagnoliPolynomials()
    {
        // The CRC-32C check value of "123456789" is 0xE3069283; Cloud Storage writes it as base64 of the big-endian bytes.
        Assert.Equal(Convert.ToBase64String([0xE3, 0x06, 0x92, 0x83]), Crc32C.Base64Of("123456789"u8));
        Assert.Equal(Convert.ToBase64String([0, 0, 0, 0]), Crc32C.Base64Of([]));
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadBytes_SmallContent_OneRequestStoringTheSameChecksum()
    {
        var log = new RequestLog();
        await using var storage = await StorageTestServices.CreateAsync(servers, wrapHandler: log.Wrap);
        var bytes = StorageTestServices.RandomBytes(100_003);

        var stored = await storage.Client.UploadBytesAsync(storage.Options, storage.Bucket, "small.bin", "application/octet-stream", bytes, Ct);

        var request = Assert.Single(log.Requests);
        Assert.Contains("uploadType=multipart", request.Uri.Query, StringComparison.Ordinal);
        Assert.Equal(Crc32C.Base64Of(bytes), stored.Crc32c);
        Assert.Equal((ulong)bytes.Length, stored.Size);
        Assert.Equal("application/octet-stream", stored.ContentType);
        Assert.Equal(bytes, await storage.Client.DownloadBytesAsync(storage.Bucket, "small.bin", Ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadBytes_BytesCorruptedInTransit_ThrowsAndLeavesNoObject()
    {
        await using var storage = await StorageTestServices.CreateAsync(servers, wrapHandler: inner => new CorruptUploadHandler(inner));

        var error = await Assert.ThrowsAsync<IOException>(() =>
            storage.Client.UploadBytesAsync(storage.Options, storage.Bucket, "damaged.bin", "application/octet-stream", StorageTestServices.RandomBytes(4096), Ct));

        Assert.Contains("CRC-32C", error.Message, StringComparison.Ordinal);
        Assert.False(await storage.Client.ExistsAsync(storage.Bucket, "damaged.bin", Ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadBytes_AboveTheSingleRequestLimit_GoesThroughTheLibrarysResumableUpload()
    {
        var log = new RequestLog();
        await using var storage = await StorageTestServices.CreateAsync(servers,
            new Dictionary<string, string?> { ["GoogleCloud:Storage:SingleRequestUploadBytes"] = "1024" }, wrapHandler: log.Wrap);
        var bytes = Encoding.UTF8.GetBytes(new string('x', 1025));

        await storage.Client.UploadBytesAsync(storage.Options, storage.Bucket, "resumable.txt", "text/plain", bytes, Ct);

        Assert.Contains(log.Requests, r => r.Uri.Query.Contains("uploadType=resumable", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Requests, r => r.Uri.Query.Contains("uploadType=multipart", StringComparison.Ordinal));
        Assert.Equal(bytes, await storage.Client.DownloadBytesAsync(storage.Bucket, "resumable.txt", Ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task DownloadChecked_IntactObject_WritesEveryByte()
    {
        await using var storage = await StorageTestServices.CreateAsync(servers);
        var bytes = StorageTestServices.RandomBytes(300_000);
        await storage.UploadAsync("intact.bin", bytes);
        using var destination = new MemoryStream();

        var stored = await storage.Client.DownloadCheckedAsync(storage.Bucket, "intact.bin", destination, Ct);

        Assert.Equal(bytes, destination.ToArray());
        Assert.Equal(Crc32C.Base64Of(bytes), stored.Crc32c);
    }

    [Fact(Timeout = Timeout)]
    public async Task DownloadChecked_BytesCorruptedInTransit_ThrowsOnTheHashMismatch()
    {
        await using var storage = await StorageTestServices.CreateAsync(servers, wrapHandler: inner => new CorruptDownloadHandler(inner));
        await storage.UploadAsync("fragile.bin", StorageTestServices.RandomBytes(64 * 1024));
        using var destination = new MemoryStream();

        var error = await Assert.ThrowsAsync<IOException>(() => storage.Client.DownloadCheckedAsync(storage.Bucket, "fragile.bin", destination, Ct));

        Assert.Contains("hash", error.Message, StringComparison.OrdinalIgnoreCase);
    }
}
