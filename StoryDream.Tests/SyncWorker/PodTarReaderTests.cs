using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using StoryDream.Snapshots;
using StoryDream.SyncWorker.Pods;

namespace StoryDream.Tests.SyncWorker;

public sealed class PodTarReaderTests
{
    private const long Limit = 1024 * 1024;

    [Fact]
    public async Task Read_RequestedFiles_HandsOverVerifiedContent()
    {
        var files = new Dictionary<string, byte[]>
        {
            ["src/a.tsx"] = "export const a = 1;\n"u8.ToArray(),
            ["src/deep/b.txt"] = RandomNumberGenerator.GetBytes(70_000),
            ["src/empty.txt"] = [],
            [".claude/settings.json"] = "{}"u8.ToArray(),
            ["src/" + new string('x', 150) + "/" + new string('y', 150) + "/long-name-needs-pax.ts"] = "long"u8.ToArray(),
            ["src/ünïcødé/名前.ts"] = "unicode"u8.ToArray(),
        };
        using var tar = Tar(files.Select(f => Regular(f.Key, f.Value)));
        var received = new Dictionary<string, byte[]>();

        await PodTarReader.ReadAsync(tar, Entries(files), Limit, (entry, content, _) =>
        {
            received.Add(entry.Path, content);
            return Task.CompletedTask;
        }, TestContext.Current.CancellationToken);

        Assert.Equal(files.Keys.Order(), received.Keys.Order());
        foreach (var (path, content) in files) { Assert.Equal(content, received[path]); }
    }

    [Theory]
    [InlineData("src/../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("src/a\0b.ts")]
    [InlineData("src\\windows.ts")]
    [InlineData("src//double.ts")]
    [InlineData("node_modules/evil.js")]
    [InlineData("src/./dot.ts")]
    public async Task Read_HostilePath_IsRefused(string hostile)
    {
        var requested = Entries(new Dictionary<string, byte[]> { ["src/ok.ts"] = "ok"u8.ToArray() });
        using var tar = Tar([Regular(hostile, "ok"u8.ToArray())]);

        var error = await Assert.ThrowsAsync<SyncRefusedException>(() => ReadAllAsync(tar, requested));

        Assert.Contains("invalid path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_OverLongPath_IsRefused()
    {
        var path = "src/" + string.Join('/', Enumerable.Repeat(new string('a', 200), 6)) + ".ts";
        using var tar = Tar([Regular(path, "x"u8.ToArray())]);

        var error = await Assert.ThrowsAsync<SyncRefusedException>(() =>
            ReadAllAsync(tar, Entries(new Dictionary<string, byte[]> { ["src/x.ts"] = "x"u8.ToArray() })));

        Assert.Contains("longer than", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TarEntryType.SymbolicLink)]
    [InlineData(TarEntryType.HardLink)]
    [InlineData(TarEntryType.Directory)]
    [InlineData(TarEntryType.Fifo)]
    public async Task Read_NonRegularEntry_IsRefused(TarEntryType type)
    {
        var entry = new PaxTarEntry(type, "src/link.ts");
        if (type is TarEntryType.SymbolicLink or TarEntryType.HardLink) { entry.LinkName = "/etc/passwd"; }
        using var tar = Tar([entry]);

        var error = await Assert.ThrowsAsync<SyncRefusedException>(() =>
            ReadAllAsync(tar, Entries(new Dictionary<string, byte[]> { ["src/link.ts"] = "x"u8.ToArray() })));

        Assert.Contains("only regular files", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_UnrequestedFile_IsRefused()
    {
        using var tar = Tar([Regular("src/other.ts", "x"u8.ToArray())]);

        var error = await Assert.ThrowsAsync<SyncRefusedException>(() =>
            ReadAllAsync(tar, Entries(new Dictionary<string, byte[]> { ["src/x.ts"] = "x"u8.ToArray() })));

        Assert.Contains("not requested", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_SameFileTwice_IsRefused()
    {
        var content = "x"u8.ToArray();
        using var tar = Tar([Regular("src/x.ts", content), Regular("src/x.ts", content)]);

        var error = await Assert.ThrowsAsync<SyncRefusedException>(() =>
            ReadAllAsync(tar, Entries(new Dictionary<string, byte[]> { ["src/x.ts"] = content })));

        Assert.Contains("twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_FileOverLimit_IsRefusedBeforeItsContentIsRead()
    {
        var big = new byte[Limit + 1];
        using var tar = Tar([Regular("src/big.bin", big)]);

        var error = await Assert.ThrowsAsync<SyncRefusedException>(() =>
            ReadAllAsync(tar, Entries(new Dictionary<string, byte[]> { ["src/big.bin"] = big })));

        Assert.Contains("limit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_SizeDiffersFromManifest_ReportsAChange()
    {
        using var tar = Tar([Regular("src/x.ts", "longer now"u8.ToArray())]);

        await Assert.ThrowsAsync<ContentChangedException>(() =>
            ReadAllAsync(tar, Entries(new Dictionary<string, byte[]> { ["src/x.ts"] = "short"u8.ToArray() })));
    }

    [Fact]
    public async Task Read_ContentNotMatchingItsHash_ReportsAChange()
    {
        using var tar = Tar([Regular("src/x.ts", "aaaa"u8.ToArray())]);

        var error = await Assert.ThrowsAsync<ContentChangedException>(() =>
            ReadAllAsync(tar, Entries(new Dictionary<string, byte[]> { ["src/x.ts"] = "bbbb"u8.ToArray() })));

        Assert.Contains("hashes to", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_RequestedFileMissing_IsRefused()
    {
        using var tar = Tar([Regular("src/a.ts", "a"u8.ToArray())]);

        var error = await Assert.ThrowsAsync<SyncRefusedException>(() => ReadAllAsync(tar,
            Entries(new Dictionary<string, byte[]> { ["src/a.ts"] = "a"u8.ToArray(), ["src/b.ts"] = "b"u8.ToArray() })));

        Assert.Contains("src/b.ts", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_TruncatedStream_IsRefused()
    {
        var content = RandomNumberGenerator.GetBytes(10_000);
        using var full = Tar([Regular("src/a.bin", content)]);
        using var truncated = new MemoryStream(full.ToArray()[..3000]);

        await Assert.ThrowsAnyAsync<Exception>(() =>
            ReadAllAsync(truncated, Entries(new Dictionary<string, byte[]> { ["src/a.bin"] = content })));
    }

    [Fact]
    public async Task Read_HugeHeaderRecord_IsRefusedByTheByteBudget()
    {
        // A PAX record as large as the budget allows for this one small file and more: the reader must stop at the
        // budget rather than buffer whatever the header claims.
        var attributes = new Dictionary<string, string> { ["comment"] = new string('z', 200_000) };
        using var tar = Tar([new PaxTarEntry(TarEntryType.RegularFile, "src/a.ts", attributes) { DataStream = new MemoryStream("a"u8.ToArray()) }]);

        var error = await Assert.ThrowsAsync<SyncRefusedException>(() =>
            ReadAllAsync(tar, Entries(new Dictionary<string, byte[]> { ["src/a.ts"] = "a"u8.ToArray() })));

        Assert.Contains("longer than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_NotATar_IsRefused()
    {
        using var garbage = new MemoryStream(Encoding.UTF8.GetBytes(new string('#', 2048)));

        await Assert.ThrowsAsync<SyncRefusedException>(() =>
            ReadAllAsync(garbage, Entries(new Dictionary<string, byte[]> { ["src/a.ts"] = "a"u8.ToArray() })));
    }

    private static Task ReadAllAsync(Stream tar, IReadOnlyCollection<ManifestEntry> requested) =>
        PodTarReader.ReadAsync(tar, requested, Limit, (_, _, _) => Task.CompletedTask, TestContext.Current.CancellationToken);

    private static List<ManifestEntry> Entries(Dictionary<string, byte[]> files) =>
        [.. files.Select(f => new ManifestEntry(f.Key, Sha256Hex.Of(f.Value), f.Value.Length))];

    private static PaxTarEntry Regular(string name, byte[] content) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) };

    private static MemoryStream Tar(IEnumerable<TarEntry> entries)
    {
        var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in entries) { writer.WriteEntry(entry); }
        }
        stream.Position = 0;
        return stream;
    }
}
