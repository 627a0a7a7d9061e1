using StoryDream.GoogleCloud.Storage;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Storage;

public sealed class StorageClientListTests(TestServers servers)
{
    private const int Timeout = 60_000;

    [Fact(Timeout = Timeout)]
    public async Task ListPagesAsync_SmallPageSize_WalksEveryPage()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var names = Enumerable.Range(0, 7).Select(i => $"paged/{i:D2}").ToList();
        foreach (var name in names)
        {
            await storage.Client.UploadAsync(storage.Bucket, name, "x"u8.ToArray(), cancellationToken: ct);
        }

        var pages = await storage.Client.ListPagesAsync(storage.Bucket, new StorageListOptions { Prefix = "paged/", PageSize = 3 }, ct).ToListAsync(ct);

        Assert.Equal([3, 3, 1], pages.Select(page => page.Objects.Count));
        Assert.Equal(names, pages.SelectMany(page => page.Objects).Select(item => item.Name));
        Assert.NotNull(pages[0].NextPageToken);
        Assert.Null(pages[^1].NextPageToken);
    }

    [Fact(Timeout = Timeout)]
    public async Task ListPagesAsync_FromPageToken_ContinuesWhereThePageEnded()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        foreach (var name in new[] { "a", "b", "c", "d" })
        {
            await storage.Client.UploadAsync(storage.Bucket, name, "x"u8.ToArray(), cancellationToken: ct);
        }
        var first = await storage.Client.ListPagesAsync(storage.Bucket, new StorageListOptions { PageSize = 2 }, ct).FirstAsync(ct);

        var rest = await storage.Client.ListPagesAsync(storage.Bucket, new StorageListOptions { PageSize = 2, PageToken = first.NextPageToken }, ct).ToListAsync(ct);

        Assert.Equal(["a", "b"], first.Objects.Select(item => item.Name));
        Assert.Equal(["c", "d"], rest.SelectMany(page => page.Objects).Select(item => item.Name));
    }

    [Fact(Timeout = Timeout)]
    public async Task ListPagesAsync_Delimiter_FoldsSubfoldersIntoPrefixes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        foreach (var name in new[] { "repo/a/1.json", "repo/a/2.json", "repo/b/c/3.json", "repo/top.json", "repo/zz/4.json", "other/5.json" })
        {
            await storage.Client.UploadAsync(storage.Bucket, name, "x"u8.ToArray(), cancellationToken: ct);
        }

        var pages = await storage.Client.ListPagesAsync(storage.Bucket, new StorageListOptions { Prefix = "repo/", Delimiter = "/" }, ct).ToListAsync(ct);
        var paged = await storage.Client.ListPagesAsync(storage.Bucket, new StorageListOptions { Prefix = "repo/", Delimiter = "/", PageSize = 1 }, ct).ToListAsync(ct);

        Assert.Equal(["repo/top.json"], pages.SelectMany(page => page.Objects).Select(item => item.Name));
        Assert.Equal(["repo/a/", "repo/b/", "repo/zz/"], pages.SelectMany(page => page.Prefixes).Order(StringComparer.Ordinal));
        Assert.Equal(["repo/top.json"], paged.SelectMany(page => page.Objects).Select(item => item.Name));
        Assert.Equal(["repo/a/", "repo/b/", "repo/zz/"], paged.SelectMany(page => page.Prefixes).Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = Timeout)]
    public async Task ListAsync_Prefix_ReturnsOnlyMatchingObjects()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        foreach (var name in new[] { "blobs/aa", "blobs/ab", "blobsx", "templates/t" })
        {
            await storage.Client.UploadAsync(storage.Bucket, name, "x"u8.ToArray(), cancellationToken: ct);
        }

        var listed = await storage.Client.ListAsync(storage.Bucket, "blobs/", ct).Select(item => item.Name).ToListAsync(ct);
        var everything = await storage.Client.ListAsync(storage.Bucket, cancellationToken: ct).ToListAsync(ct);

        Assert.Equal(["blobs/aa", "blobs/ab"], listed);
        Assert.Equal(4, everything.Count);
    }

    [Fact(Timeout = Timeout)]
    public async Task ListAsync_EmptyBucket_ReturnsNothing()
    {
        await using var storage = await StorageTestClient.CreateAsync(servers);

        var listed = await storage.Client.ListAsync(storage.Bucket, cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);

        Assert.Empty(listed);
    }

    [Theory(Timeout = Timeout)]
    [InlineData("folder/sub folder/file name.txt")]
    [InlineData("ünïcødé/日本語/emoji-😀.json")]
    [InlineData("a/../b")]
    [InlineData("odd chars ?#%+&=;:@$,[]{}'\"!*()~`^|\\<>.bin")]
    [InlineData("%2F already-escaped%20")]
    public async Task Operations_SpecialCharacterNames_RoundTripExactly(string name)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var bytes = StorageTestClient.RandomBytes(300);

        var uploaded = await storage.Client.UploadAsync(storage.Bucket, name, bytes, cancellationToken: ct);
        var metadata = await storage.Client.GetMetadataAsync(storage.Bucket, name, ct);
        var downloaded = await storage.DownloadBytesAsync(name);
        var copied = await storage.Client.CopyAsync(storage.Bucket, name, storage.Bucket, name + ".copy", cancellationToken: ct);
        var listed = await storage.Client.ListAsync(storage.Bucket, cancellationToken: ct).Select(item => item.Name).ToListAsync(ct);
        var deleted = await storage.Client.DeleteAsync(storage.Bucket, name, cancellationToken: ct);

        Assert.Equal(name, uploaded.Name);
        Assert.Equal(name, metadata.Name);
        Assert.Equal(bytes, downloaded);
        Assert.Equal([name, name + ".copy"], listed.Order(StringComparer.Ordinal));
        Assert.Equal(name + ".copy", copied.Name);
        Assert.True(deleted);
        Assert.False(await storage.Client.ExistsAsync(storage.Bucket, name, ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task DeleteAsync_ExistingThenMissing_ReturnsTrueThenFalse()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var uploaded = await storage.Client.UploadAsync(storage.Bucket, "doomed", "x"u8.ToArray(), cancellationToken: ct);

        Assert.True(await storage.Client.DeleteAsync(storage.Bucket, "doomed", uploaded.Generation, ct));
        Assert.False(await storage.Client.DeleteAsync(storage.Bucket, "doomed", cancellationToken: ct));
        Assert.False(await storage.Client.ExistsAsync(storage.Bucket, "doomed", ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task CopyAsync_ToAnotherBucket_CopiesBytesAndMetadata()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await StorageTestClient.CreateAsync(servers);
        var otherBucket = StorageTestClient.NewBucket();
        var bytes = StorageTestClient.RandomBytes(10_000);
        var metadata = new Dictionary<string, string> { ["kind"] = "manifest" };
        await storage.Client.UploadAsync(storage.Bucket, "source.json", bytes, "application/json", new UploadOptions { Metadata = metadata }, ct);

        var copy = await storage.Client.CopyAsync(storage.Bucket, "source.json", otherBucket, "copies/target.json", cancellationToken: ct);
        using var downloaded = new MemoryStream();
        await storage.Client.DownloadAsync(otherBucket, "copies/target.json", downloaded, cancellationToken: ct);

        Assert.Equal(otherBucket, copy.Bucket);
        Assert.Equal("copies/target.json", copy.Name);
        Assert.Equal(bytes.Length, copy.Size);
        Assert.Equal(Crc32C.Compute(bytes), copy.Crc32c);
        Assert.Equal("application/json", copy.ContentType);
        Assert.Equal(metadata, copy.Metadata);
        Assert.Equal(bytes, downloaded.ToArray());
        Assert.True(await storage.Client.ExistsAsync(storage.Bucket, "source.json", ct));
    }

    [Fact(Timeout = Timeout)]
    public async Task CopyAsync_MissingSource_ThrowsNotFound()
    {
        await using var storage = await StorageTestClient.CreateAsync(servers);

        var error = await Assert.ThrowsAsync<StorageException>(() =>
            storage.Client.CopyAsync(storage.Bucket, "absent", storage.Bucket, "target", cancellationToken: TestContext.Current.CancellationToken));

        Assert.True(error.IsNotFound);
    }

    [Theory(Timeout = Timeout)]
    [InlineData("UpperCase")]
    [InlineData("ab")]
    [InlineData("-leading-dash")]
    [InlineData("has/slash")]
    public async Task ListAsync_InvalidBucketName_Throws(string bucket)
    {
        await using var storage = await StorageTestClient.CreateAsync(servers);

        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await storage.Client.ListAsync(bucket, cancellationToken: TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken));
    }
}
