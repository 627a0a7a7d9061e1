using System.Net;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Storage;

public sealed class StorageClientIntegrityTests(TestServers servers)
{
    private const int Timeout = 60_000;

    [Fact(Timeout = Timeout)]
    public async Task DownloadAsync_BytesCorruptedInTransit_ThrowsIntegrityException()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers, wrapTransport: inner => new CorruptDownloadHandler(inner));
        await storage.Client.UploadAsync(storage.Bucket, "fragile.bin", StorageTestClient.RandomBytes(64 * 1024), cancellationToken: ct);

        var error = await Assert.ThrowsAsync<StorageIntegrityException>(() => storage.DownloadBytesAsync("fragile.bin"));

        Assert.Contains("CRC-32C", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = Timeout)]
    public async Task OpenReadAsync_RangeOfCorruptedTransfer_IsNotCheckedAgainstWholeObject()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers, wrapTransport: inner => new CorruptDownloadHandler(inner));
        var bytes = StorageTestClient.RandomBytes(1000);
        await storage.Client.UploadAsync(storage.Bucket, "ranged.bin", bytes, cancellationToken: ct);

        // The service's checksum covers the whole object, so a range cannot be verified: the damage gets through.
        var slice = await storage.DownloadBytesAsync("ranged.bin", new ByteRange(0, 100));

        Assert.Equal(100, slice.Length);
        Assert.NotEqual(bytes[..100], slice);
    }

    [Theory(Timeout = Timeout)]
    [InlineData(1000)]
    [InlineData(3 * 1024 * 1024)]
    public async Task UploadAsync_BytesCorruptedInTransit_ThrowsAndDeletesTheObject(int size)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers,
            new Dictionary<string, string?> { ["GoogleCloud:Storage:ResumableThreshold"] = $"{1024 * 1024}" },
            inner => new CorruptUploadHandler(inner));

        var error = await Assert.ThrowsAsync<StorageIntegrityException>(() =>
            storage.Client.UploadAsync(storage.Bucket, "corrupt.bin", StorageTestClient.RandomBytes(size), cancellationToken: ct));

        Assert.Contains("CRC-32C", error.Message, StringComparison.Ordinal);
        Assert.Contains("was deleted", error.Message, StringComparison.Ordinal);
        Assert.False(await storage.Client.ExistsAsync(storage.Bucket, "corrupt.bin", ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task GetMetadataAsync_TransientFailures_AreRetried()
    {
        var ct = TestContext.Current.CancellationToken;
        FailFirstHandler? faults = null;
        await using var storage = await StorageTestClient.CreateAsync(servers, wrapTransport: inner => faults = new FailFirstHandler(inner, failures: 2));

        var error = await Assert.ThrowsAsync<StorageException>(() => storage.Client.GetMetadataAsync(storage.Bucket, "absent", ct));

        // Two injected 503s, then the emulator's real answer.
        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        Assert.Equal(3, faults!.Seen);
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_TransientFailure_RetriesAndStoresOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        FailFirstHandler? faults = null;
        await using var storage = await StorageTestClient.CreateAsync(servers, wrapTransport: inner => faults = new FailFirstHandler(inner, failures: 1, HttpStatusCode.TooManyRequests));
        var bytes = StorageTestClient.RandomBytes(5000);

        var uploaded = await storage.Client.UploadAsync(storage.Bucket, "retried.bin", bytes, cancellationToken: ct);

        Assert.Equal(Crc32C.Compute(bytes), uploaded.Crc32c);
        Assert.Equal(2, faults!.Seen);
        Assert.Equal(bytes, await storage.DownloadBytesAsync("retried.bin"));
    }

    [Fact(Timeout = Timeout)]
    public async Task GetMetadataAsync_FailuresBeyondMaxAttempts_ThrowsWithLastStatus()
    {
        FailFirstHandler? faults = null;
        await using var storage = await StorageTestClient.CreateAsync(servers,
            new Dictionary<string, string?> { ["GoogleCloud:Storage:MaxAttempts"] = "3" },
            inner => faults = new FailFirstHandler(inner, failures: 10));

        var error = await Assert.ThrowsAsync<StorageException>(() =>
            storage.Client.GetMetadataAsync(storage.Bucket, "absent", TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.Equal(3, faults!.Seen);
    }
}
