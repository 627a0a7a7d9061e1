using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Tests.GoogleCloud.Storage;

public sealed class StorageUrisTests
{
    [Fact]
    public void Create_Production_UsesJsonAndUploadRootsOfTheEndpoint()
    {
        var uris = StorageUris.Create(new Uri("https://storage.googleapis.com"), emulatorHost: null);

        Assert.Equal("https://storage.googleapis.com/storage/v1/b/my-bucket/o/a%2Fb%20c%2F%C3%BC.txt?alt=media",
            uris.Object("my-bucket", "a/b c/ü.txt", "alt=media").AbsoluteUri);
        Assert.Equal("https://storage.googleapis.com/upload/storage/v1/b/my-bucket/o?uploadType=media",
            uris.Upload("my-bucket", "uploadType=media").AbsoluteUri);
    }

    [Theory]
    [InlineData("127.0.0.1:9199", "http://127.0.0.1:9199/storage/v1/")]
    [InlineData("http://localhost:9199", "http://localhost:9199/storage/v1/")]
    [InlineData("http://127.0.0.1:9199/", "http://127.0.0.1:9199/storage/v1/")]
    public void Create_EmulatorHost_OverridesTheEndpoint(string host, string expected)
    {
        var uris = StorageUris.Create(new Uri("https://storage.googleapis.com/"), host);

        Assert.Equal(expected, uris.JsonRoot.AbsoluteUri);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:21")]
    [InlineData("http://127.0.0.1:9199/?x=1")]
    [InlineData("not a host")]
    public void Create_BadEmulatorHost_Throws(string host)
    {
        Assert.Throws<ArgumentException>(() => StorageUris.Create(new Uri("https://storage.googleapis.com/"), host));
    }

    [Fact]
    public void Object_DotSegments_StayInsideOneEscapedSegment()
    {
        var uris = StorageUris.Create(new Uri("https://storage.googleapis.com/"), emulatorHost: null);

        Assert.Equal("/storage/v1/b/bucket/o/a%2F..%2F..%2Fetc%2Fpasswd", uris.Object("bucket", "a/../../etc/passwd").AbsolutePath);
        Assert.Throws<ArgumentException>(() => uris.Object("bucket", ".."));
    }

    [Fact]
    public void ObjectName_LoneSurrogate_Throws()
    {
        Assert.Throws<ArgumentException>(() => StorageUris.ObjectName("bad\uD800name"));
    }

    [Fact]
    public void Query_SkipsNullsAndEscapesValues()
    {
        Assert.Equal("name=a%2Fb%20%26c&ifGenerationMatch=0", StorageUris.Query(("name", "a/b &c"), ("skip", null), ("ifGenerationMatch", "0")));
    }
}
