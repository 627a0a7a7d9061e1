using System.Text;
using StoryDream.Snapshots;

namespace StoryDream.Tests.Snapshots;

public sealed class SnapshotManifestTests
{
    private static ManifestEntry Entry(string path, string content) =>
        new(path, Sha256Hex.Of(Encoding.UTF8.GetBytes(content)), Encoding.UTF8.GetByteCount(content));

    [Fact]
    public void Create_AnyInputOrder_SameIdAndSortedEntries()
    {
        var a = SnapshotManifest.Create([Entry("src/b.ts", "b"), Entry("src/a.ts", "a"), Entry(".claude/x.json", "x")]);
        var b = SnapshotManifest.Create([Entry(".claude/x.json", "x"), Entry("src/a.ts", "a"), Entry("src/b.ts", "b")]);

        Assert.Equal(a.Id, b.Id);
        Assert.Equal([".claude/x.json", "src/a.ts", "src/b.ts"], a.Entries.Select(e => e.Path));
    }

    [Fact]
    public void Id_IsSha256OfCanonicalJson()
    {
        var manifest = SnapshotManifest.Create([Entry("src/a.ts", "a")]);
        var json = Encoding.UTF8.GetString(manifest.CanonicalJson);

        Assert.Equal($"[{{\"path\":\"src/a.ts\",\"sha256\":\"{Sha256Hex.Of("a"u8)}\",\"size\":1}}]", json);
        Assert.Equal(Sha256Hex.Of(manifest.CanonicalJson), manifest.Id);
    }

    [Fact]
    public void Id_DifferentContent_DifferentId()
    {
        var a = SnapshotManifest.Create([Entry("src/a.ts", "a")]);
        var b = SnapshotManifest.Create([Entry("src/a.ts", "b")]);

        Assert.NotEqual(a.Id, b.Id);
    }

    [Fact]
    public void Parse_CanonicalJson_RoundTrips()
    {
        var manifest = SnapshotManifest.Create([Entry("src/é/ü.tsx", "x"), Entry("src/a.ts", "a"), Entry("src/😀.ts", "e"), Entry("src/\uFF21.ts", "f")]);

        var parsed = SnapshotManifest.Parse(manifest.CanonicalJson);

        Assert.Equal(manifest.Id, parsed.Id);
        Assert.Equal(manifest.Entries, parsed.Entries);
    }

    [Fact]
    public void Create_SortsByUtf8Bytes_NotUtf16()
    {
        // In UTF-16 units U+1F600 (D83D DE00) sorts before U+FF21; in UTF-8 bytes (F0... vs EF...) after it.
        var manifest = SnapshotManifest.Create([Entry("src/😀", "e"), Entry("src/\uFF21", "f")]);
        var bytes = manifest.Entries.Select(e => Encoding.UTF8.GetBytes(e.Path)).ToList();

        Assert.True(bytes[0].AsSpan().SequenceCompareTo(bytes[1]) < 0);
    }

    [Theory]
    [InlineData("src/../etc/passwd")]
    [InlineData("../src/a.ts")]
    [InlineData("/src/a.ts")]
    [InlineData("src//a.ts")]
    [InlineData("src/./a.ts")]
    [InlineData("src\\a.ts")]
    [InlineData("node_modules/a.js")]
    [InlineData("src")]
    [InlineData("src/a\u0000.ts")]
    [InlineData("")]
    public void Create_HostilePath_Refused(string path) =>
        Assert.Throws<InvalidManifestException>(() => SnapshotManifest.Create([Entry(path, "x")]));

    [Fact]
    public void Create_DuplicatePath_Refused() =>
        Assert.Throws<InvalidManifestException>(() => SnapshotManifest.Create([Entry("src/a.ts", "x"), Entry("src/a.ts", "y")]));

    [Theory]
    [InlineData("ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789")]
    [InlineData("abc")]
    public void Create_BadHash_Refused(string sha) =>
        Assert.Throws<InvalidManifestException>(() => SnapshotManifest.Create([new ManifestEntry("src/a.ts", sha, 1)]));

    [Theory]
    [InlineData("{}")]
    [InlineData("[{\"path\":\"src/a.ts\"}]")]
    [InlineData("not json")]
    [InlineData("[null]")]
    public void Parse_NotAManifest_Refused(string json) =>
        Assert.Throws<InvalidManifestException>(() => SnapshotManifest.Parse(Encoding.UTF8.GetBytes(json)));
}
