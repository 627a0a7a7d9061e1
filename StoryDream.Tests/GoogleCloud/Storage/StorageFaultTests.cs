using System.Net;
using System.Net.Http.Headers;
using Google;
using Google.Cloud.Storage.V1;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Storage;

/// <summary>
/// What the library does for us, as we configure it, against the real emulator with faults injected at the HTTP layer
/// it exposes (a message handler from its HTTP client factory).
/// </summary>
public sealed class StorageFaultTests(TestServers servers)
{
    private const int Timeout = 60_000;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = Timeout)]
    public async Task Download_BytesCorruptedInTransit_ThrowsOnTheHashMismatch()
    {
        await using var storage = await StorageTestServices.CreateAsync(servers, wrapHandler: inner => new CorruptDownloadHandler(inner));
        await storage.UploadAsync("fragile.bin", StorageTestServices.RandomBytes(64 * 1024));
        using var destination = new MemoryStream();

        var error = await Assert.ThrowsAnyAsync<IOException>(() =>
            storage.Client.DownloadObjectAsync(storage.Bucket, "fragile.bin", destination, storage.Options.Download(), Ct));

        Assert.Contains("hash", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = Timeout)]
    public async Task Download_RangeFromTheEmulator_ReturnsExactlyThoseBytes()
    {
        await using var storage = await StorageTestServices.CreateAsync(servers);
        var bytes = StorageTestServices.RandomBytes(1000);
        await storage.UploadAsync("ranged.bin", bytes);
        using var slice = new MemoryStream();

        await storage.Client.DownloadObjectAsync(storage.Bucket, "ranged.bin", slice, storage.Options.Download(new RangeHeaderValue(100, 199)), Ct);

        Assert.Equal(bytes[100..200], slice.ToArray());
    }

    [Fact(Timeout = Timeout)]
    public async Task Download_RangeValidatedAgainstTheEmulator_FailsWhichIsWhyItIsOffThere()
    {
        await using var storage = await StorageTestServices.CreateAsync(servers);
        await storage.UploadAsync("ranged.bin", StorageTestServices.RandomBytes(1000));
        using var slice = new MemoryStream();
        var validated = new DownloadObjectOptions { Range = new RangeHeaderValue(100, 199), DownloadValidationMode = DownloadValidationMode.Always };

        await Assert.ThrowsAnyAsync<IOException>(() => storage.Client.DownloadObjectAsync(storage.Bucket, "ranged.bin", slice, validated, Ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task Upload_LargerThanTheLibrarysChunk_StoredWholeWithTheEmulatorChunkSize()
    {
        await using var storage = await StorageTestServices.CreateAsync(servers);
        var bytes = StorageTestServices.RandomBytes(12 * 1024 * 1024);

        await storage.UploadAsync("large.bin", bytes);

        Assert.Equal(bytes, await storage.Client.DownloadBytesAsync(storage.Bucket, "large.bin", Ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task Get_TransientFailures_AreRetriedByTheLibrary()
    {
        var faults = new FailFirst(failures: 2);
        await using var storage = await StorageTestServices.CreateAsync(servers, wrapHandler: faults.Wrap);

        var error = await Assert.ThrowsAsync<GoogleApiException>(() => storage.Client.GetObjectAsync(storage.Bucket, "absent", cancellationToken: Ct));

        // Two injected 503s, then the emulator's real answer.
        Assert.Equal(HttpStatusCode.NotFound, error.HttpStatusCode);
        Assert.Equal(3, faults.Seen);
    }

    /// <summary>The library does not retry an upload without a generation precondition; the sync worker treats the error as transient and runs the job again.</summary>
    [Fact(Timeout = Timeout)]
    public async Task Upload_TransientFailure_SurfacesAsAGoogleApiException()
    {
        await using var storage = await StorageTestServices.CreateAsync(servers,
            wrapHandler: new FailFirst(failures: 1).Wrap);

        var error = await Assert.ThrowsAsync<GoogleApiException>(() => storage.UploadAsync("failed.bin", StorageTestServices.RandomBytes(5000)));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.HttpStatusCode);
        Assert.False(await storage.Client.ExistsAsync(storage.Bucket, "failed.bin", Ct));
    }
}
