using System.Net;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Storage;

public sealed class StorageClientReadTests(TestServers servers)
{
    private const int Timeout = 60_000;

    [Fact(Timeout = Timeout)]
    public async Task OpenReadAsync_WholeObject_StreamsVerifiedBytes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var bytes = StorageTestClient.RandomBytes(2 * 1024 * 1024 + 3);
        var uploaded = await storage.Client.UploadAsync(storage.Bucket, "whole.bin", bytes, cancellationToken: ct);

        await using var stream = await storage.Client.OpenReadAsync(storage.Bucket, "whole.bin", cancellationToken: ct);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, ct);

        Assert.True(stream.IsVerified);
        Assert.Equal(bytes.Length, stream.ContentLength);
        Assert.Equal(uploaded.Generation, stream.Generation);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Theory(Timeout = Timeout)]
    [InlineData(0, 10)]
    [InlineData(100, 1)]
    [InlineData(4000, 96)]
    [InlineData(4000, 5000)]
    public async Task DownloadAsync_Range_ReturnsThatSlice(int offset, int length)
    {
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var bytes = StorageTestClient.RandomBytes(4096);
        await storage.Client.UploadAsync(storage.Bucket, "ranged.bin", bytes, cancellationToken: TestContext.Current.CancellationToken);

        var slice = await storage.DownloadBytesAsync("ranged.bin", new ByteRange(offset, length));

        Assert.Equal(bytes.AsSpan(offset, Math.Min(length, bytes.Length - offset)).ToArray(), slice);
    }

    [Fact(Timeout = Timeout)]
    public async Task OpenReadAsync_OpenEndedRange_ReturnsTheRestUnverified()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var bytes = StorageTestClient.RandomBytes(1000);
        await storage.Client.UploadAsync(storage.Bucket, "tail.bin", bytes, cancellationToken: ct);

        await using var stream = await storage.Client.OpenReadAsync(storage.Bucket, "tail.bin", new ByteRange(900), ct);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, ct);

        Assert.False(stream.IsVerified);
        Assert.Equal(bytes[900..], copy.ToArray());
    }

    [Fact(Timeout = Timeout)]
    public async Task OpenReadAsync_RangePastTheEnd_ThrowsRangeNotSatisfiable()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        await storage.Client.UploadAsync(storage.Bucket, "short.bin", StorageTestClient.RandomBytes(10), cancellationToken: ct);

        var error = await Assert.ThrowsAsync<StorageException>(() => storage.Client.OpenReadAsync(storage.Bucket, "short.bin", new ByteRange(10, 5), ct));

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, error.StatusCode);
    }

    [Fact(Timeout = Timeout)]
    public async Task OpenReadAsync_MissingObject_ThrowsNotFound()
    {
        await using var storage = await StorageTestClient.CreateAsync(servers);

        var error = await Assert.ThrowsAsync<StorageException>(() =>
            storage.Client.OpenReadAsync(storage.Bucket, "missing", cancellationToken: TestContext.Current.CancellationToken));

        Assert.True(error.IsNotFound);
    }

    [Fact(Timeout = Timeout)]
    public async Task GetMetadataAsync_ExistingObject_ReportsSizeHashesAndGeneration()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var bytes = StorageTestClient.RandomBytes(777);
        var uploaded = await storage.Client.UploadAsync(storage.Bucket, "meta/data.json", bytes, "application/json", cancellationToken: ct);

        var metadata = await storage.Client.GetMetadataAsync(storage.Bucket, "meta/data.json", ct);

        Assert.Equal((uploaded.Bucket, uploaded.Name, uploaded.Generation, uploaded.Metageneration, uploaded.Md5Hash),
            (metadata.Bucket, metadata.Name, metadata.Generation, metadata.Metageneration, metadata.Md5Hash));
        Assert.Equal(777, metadata.Size);
        Assert.Equal("application/json", metadata.ContentType);
        Assert.Equal(Crc32C.Compute(bytes), metadata.Crc32c);
        Assert.NotNull(metadata.Md5Hash);
        Assert.NotNull(metadata.Created);
    }

    [Fact(Timeout = Timeout)]
    public async Task GetMetadataAsync_MissingObject_ThrowsNotFound()
    {
        await using var storage = await StorageTestClient.CreateAsync(servers);

        var error = await Assert.ThrowsAsync<StorageException>(() =>
            storage.Client.GetMetadataAsync(storage.Bucket, "nothing-here", TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        Assert.Contains("nothing-here", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = Timeout)]
    public async Task ExistsAsync_BeforeAndAfterUpload_TellsTheTruth()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);

        Assert.False(await storage.Client.ExistsAsync(storage.Bucket, "maybe", ct));
        await storage.Client.UploadAsync(storage.Bucket, "maybe", "x"u8.ToArray(), cancellationToken: ct);
        Assert.True(await storage.Client.ExistsAsync(storage.Bucket, "maybe", ct));
    }
}
