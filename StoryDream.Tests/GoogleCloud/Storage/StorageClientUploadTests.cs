using System.Security.Cryptography;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Storage;

public sealed class StorageClientUploadTests(TestServers servers)
{
    private const int Timeout = 60_000;

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_SmallBytes_StoresThemWithMatchingChecksums()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var bytes = StorageTestClient.RandomBytes(1024);

        var uploaded = await storage.Client.UploadAsync(storage.Bucket, "small.bin", bytes, "application/x-test", cancellationToken: ct);

        Assert.Equal(storage.Bucket, uploaded.Bucket);
        Assert.Equal("small.bin", uploaded.Name);
        Assert.Equal(1024, uploaded.Size);
        Assert.Equal("application/x-test", uploaded.ContentType);
        Assert.True(uploaded.Generation > 0);
        Assert.Equal(Crc32C.Compute(bytes), uploaded.Crc32c);
#pragma warning disable CA5351 // Cloud Storage reports MD5; this checks its value, not anything's security.
        Assert.Equal(Convert.ToBase64String(MD5.HashData(bytes)), uploaded.Md5Hash);
#pragma warning restore CA5351
        Assert.Equal(bytes, await storage.DownloadBytesAsync("small.bin"));
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_SmallUpload_UsesOneMediaRequest()
    {
        var ct = TestContext.Current.CancellationToken;
        RecordingHandler? recorder = null;
        await using var storage = await StorageTestClient.CreateAsync(servers, wrapTransport: inner => recorder = new RecordingHandler(inner));

        await storage.Client.UploadAsync(storage.Bucket, "media.txt", "hello"u8.ToArray(), "text/plain", cancellationToken: ct);

        var request = Assert.Single(recorder!.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Contains("uploadType=media", request.Uri.Query, StringComparison.Ordinal);
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_WithCustomMetadata_UsesMultipartAndKeepsIt()
    {
        var ct = TestContext.Current.CancellationToken;
        RecordingHandler? recorder = null;
        await using var storage = await StorageTestClient.CreateAsync(servers, wrapTransport: inner => recorder = new RecordingHandler(inner));
        var bytes = StorageTestClient.RandomBytes(5000);
        var metadata = new Dictionary<string, string> { ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes)), ["origin"] = "test ü" };

        var uploaded = await storage.Client.UploadAsync(storage.Bucket, "with-metadata.bin", bytes, "application/octet-stream",
            new UploadOptions { Metadata = metadata }, ct);
        var fetched = await storage.Client.GetMetadataAsync(storage.Bucket, "with-metadata.bin", ct);

        Assert.Contains("uploadType=multipart", recorder!.Requests[0].Uri.Query, StringComparison.Ordinal);
        Assert.Equal(metadata, uploaded.Metadata);
        Assert.Equal(metadata, fetched.Metadata);
        Assert.Equal("application/octet-stream", fetched.ContentType);
        Assert.Equal(bytes, await storage.DownloadBytesAsync("with-metadata.bin"));
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_SeekableStreamAboveThreshold_UsesOneResumablePut()
    {
        var ct = TestContext.Current.CancellationToken;
        RecordingHandler? recorder = null;
        await using var storage = await StorageTestClient.CreateAsync(servers,
            new Dictionary<string, string?> { ["GoogleCloud:Storage:ResumableThreshold"] = $"{1024 * 1024}" },
            inner => recorder = new RecordingHandler(inner));
        var bytes = StorageTestClient.RandomBytes(5 * 1024 * 1024 + 123);
        var path = Path.Combine(Path.GetTempPath(), $"storage-test-{Guid.NewGuid():N}.bin");
        await File.WriteAllBytesAsync(path, bytes, ct);
        try
        {
            StorageObject uploaded;
            await using (var file = File.OpenRead(path))
            {
                uploaded = await storage.Client.UploadAsync(storage.Bucket, "large/seekable.bin", file, cancellationToken: ct);
            }

            Assert.Equal(bytes.Length, uploaded.Size);
            Assert.Equal(Crc32C.Compute(bytes), uploaded.Crc32c);
            var requests = recorder!.Requests;
            Assert.Equal(2, requests.Count);
            Assert.Contains("uploadType=resumable", requests[0].Uri.Query, StringComparison.Ordinal);
            Assert.Equal(HttpMethod.Put, requests[1].Method);
            Assert.Equal($"bytes 0-{bytes.Length - 1}/{bytes.Length}", requests[1].ContentRange);
            Assert.Equal(bytes, await storage.DownloadBytesAsync("large/seekable.bin"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_NonSeekableStreamWithinOneChunk_UsesOneResumablePutWithKnownTotal()
    {
        var ct = TestContext.Current.CancellationToken;
        RecordingHandler? recorder = null;
        await using var storage = await StorageTestClient.CreateAsync(servers,
            new Dictionary<string, string?>
            {
                ["GoogleCloud:Storage:ResumableThreshold"] = $"{1024 * 1024}",
                ["GoogleCloud:Storage:ChunkSize"] = $"{4 * 1024 * 1024}",
            },
            inner => recorder = new RecordingHandler(inner));
        var bytes = StorageTestClient.RandomBytes(3 * 1024 * 1024 + 7);

        var uploaded = await storage.Client.UploadAsync(storage.Bucket, "large/piped.bin", new NonSeekableStream(bytes), cancellationToken: ct);

        Assert.Equal(bytes.Length, uploaded.Size);
        Assert.Equal($"bytes 0-{bytes.Length - 1}/{bytes.Length}", recorder!.Requests[^1].ContentRange);
        Assert.Equal(bytes, await storage.DownloadBytesAsync("large/piped.bin"));
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_SmallNonSeekableStream_UsesMedia()
    {
        var ct = TestContext.Current.CancellationToken;
        RecordingHandler? recorder = null;
        await using var storage = await StorageTestClient.CreateAsync(servers, wrapTransport: inner => recorder = new RecordingHandler(inner));
        var bytes = StorageTestClient.RandomBytes(70_000);

        var uploaded = await storage.Client.UploadAsync(storage.Bucket, "piped-small.bin", new NonSeekableStream(bytes), cancellationToken: ct);

        Assert.Equal(bytes.Length, uploaded.Size);
        Assert.Contains("uploadType=media", Assert.Single(recorder!.Requests).Uri.Query, StringComparison.Ordinal);
        Assert.Equal(bytes, await storage.DownloadBytesAsync("piped-small.bin"));
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_StreamNotAtStart_UploadsFromItsPosition()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var bytes = StorageTestClient.RandomBytes(1000);
        using var stream = new MemoryStream(bytes) { Position = 100 };

        var uploaded = await storage.Client.UploadAsync(storage.Bucket, "tail.bin", stream, cancellationToken: ct);

        Assert.Equal(900, uploaded.Size);
        Assert.Equal(bytes[100..], await storage.DownloadBytesAsync("tail.bin"));
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_EmptyContent_StoresEmptyObject()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);

        var uploaded = await storage.Client.UploadAsync(storage.Bucket, "empty", ReadOnlyMemory<byte>.Empty, cancellationToken: ct);

        Assert.Equal(0, uploaded.Size);
        Assert.Equal(0u, uploaded.Crc32c);
        Assert.Empty(await storage.DownloadBytesAsync("empty"));
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_SameNameTwice_ReplacesWithNewGeneration()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);

        var first = await storage.Client.UploadAsync(storage.Bucket, "twice", "one"u8.ToArray(), cancellationToken: ct);
        await Task.Delay(5, ct);
        var second = await storage.Client.UploadAsync(storage.Bucket, "twice", "two"u8.ToArray(), cancellationToken: ct);

        Assert.NotEqual(first.Generation, second.Generation);
        Assert.Equal("two"u8.ToArray(), await storage.DownloadBytesAsync("twice"));
    }

    [Fact(Timeout = Timeout)]
    public async Task Writes_IfGenerationMatch_SendThePreconditionOnEveryPath()
    {
        var ct = TestContext.Current.CancellationToken;
        RecordingHandler? recorder = null;
        await using var storage = await StorageTestClient.CreateAsync(servers,
            new Dictionary<string, string?> { ["GoogleCloud:Storage:ResumableThreshold"] = "1024" },
            inner => recorder = new RecordingHandler(inner));
        var writeOnce = new UploadOptions { IfGenerationMatch = 0 };

        await storage.Client.UploadAsync(storage.Bucket, "media", "x"u8.ToArray(), options: writeOnce, cancellationToken: ct);
        await storage.Client.UploadAsync(storage.Bucket, "multipart", "x"u8.ToArray(), options: writeOnce with { Metadata = new Dictionary<string, string> { ["k"] = "v" } }, cancellationToken: ct);
        var resumable = await storage.Client.UploadAsync(storage.Bucket, "resumable", new byte[2048], options: writeOnce, cancellationToken: ct);
        await storage.Client.CopyAsync(storage.Bucket, "media", storage.Bucket, "copy", new CopyOptions { IfGenerationMatch = 0 }, ct);
        await storage.Client.DeleteAsync(storage.Bucket, "resumable", resumable.Generation, ct);

        // The emulator ignores preconditions (eng/storage-emulator/README.md), so only the wire can be checked here.
        var writes = recorder!.Requests.Where(request => request.Method != HttpMethod.Put).Select(request => request.Uri.Query).ToList();
        Assert.Equal(5, writes.Count);
        Assert.All(writes[..4], query => Assert.Contains("ifGenerationMatch=0", query, StringComparison.Ordinal));
        Assert.Contains($"ifGenerationMatch={resumable.Generation}", writes[4], StringComparison.Ordinal);
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_SessionFinalizedBeforeTheLastChunk_ThrowsAndDeletesTheTruncatedObject()
    {
        var ct = TestContext.Current.CancellationToken;
        RecordingHandler? recorder = null;
        await using var storage = await StorageTestClient.CreateAsync(servers,
            new Dictionary<string, string?>
            {
                ["GoogleCloud:Storage:ResumableThreshold"] = $"{256 * 1024}",
                ["GoogleCloud:Storage:ChunkSize"] = $"{256 * 1024}",
            },
            inner => recorder = new RecordingHandler(inner));

        // A non-seekable stream longer than a chunk goes up in 256 KiB multiples. The emulator finalizes the object
        // at the first chunk (it has no chunked resumable uploads): exactly the truncation the client must catch.
        var error = await Assert.ThrowsAsync<StorageIntegrityException>(() =>
            storage.Client.UploadAsync(storage.Bucket, "chunked.bin", new NonSeekableStream(StorageTestClient.RandomBytes(600 * 1024)), cancellationToken: ct));

        Assert.Equal($"bytes 0-{256 * 1024 - 1}/*", recorder!.Requests.Single(request => request.Method == HttpMethod.Put).ContentRange);
        Assert.Contains("was deleted", error.Message, StringComparison.Ordinal);
        Assert.False(await storage.Client.ExistsAsync(storage.Bucket, "chunked.bin", ct));
    }

    [Theory(Timeout = Timeout)]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("line\nbreak")]
    [InlineData(".well-known/acme-challenge/x")]
    public async Task UploadAsync_InvalidObjectName_ThrowsBeforeSending(string name)
    {
        RecordingHandler? recorder = null;
        await using var storage = await StorageTestClient.CreateAsync(servers, wrapTransport: inner => recorder = new RecordingHandler(inner));

        await Assert.ThrowsAnyAsync<ArgumentException>(() =>
            storage.Client.UploadAsync(storage.Bucket, name, "x"u8.ToArray(), cancellationToken: TestContext.Current.CancellationToken));
        Assert.Empty(recorder!.Requests);
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_NameOver1024Bytes_Throws()
    {
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var name = new string('é', 513);

        await Assert.ThrowsAsync<ArgumentException>(() =>
            storage.Client.UploadAsync(storage.Bucket, name, "x"u8.ToArray(), cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact(Timeout = Timeout)]
    public async Task UploadAsync_InvalidContentType_Throws()
    {
        await using var storage = await StorageTestClient.CreateAsync(servers);

        await Assert.ThrowsAsync<ArgumentException>(() =>
            storage.Client.UploadAsync(storage.Bucket, "x", "x"u8.ToArray(), "text/plain\r\nX-Evil: 1", cancellationToken: TestContext.Current.CancellationToken));
    }
}

/// <summary>A stream that can only be read forward, like a network or pipe stream.</summary>
internal sealed class NonSeekableStream(byte[] bytes) : Stream
{
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        // Short reads, as a network stream gives.
        var read = Math.Min(Math.Min(count, 50_000), bytes.Length - _position);
        Array.Copy(bytes, _position, buffer, offset, read);
        _position += read;
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
