using System.Formats.Tar;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.SyncWorker;
using StoryDream.SyncWorker.Pods;

namespace StoryDream.Tests.SyncWorker;

public sealed class PodFilesClientTests
{
    private static readonly string Hash = new('a', 64);

    [Theory]
    [InlineData("src/../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("src/nul\u0000.ts")]
    [InlineData("src\\a.ts")]
    [InlineData("outside/a.ts")]
    [InlineData("src")]
    [InlineData("")]
    [InlineData("src/cafe\u0301.ts")]
    [InlineData("src/nel\u0085.ts")]
    public void ValidateManifest_HostilePath_LeftOutWithTheReasonAndTheRestKept(string path)
    {
        var tree = PodFilesClient.ValidateManifest([new PodManifestEntry(path, Hash, 1), new PodManifestEntry("src/ok.ts", Hash, 1)], 10, 100);

        Assert.Equal(["src/ok.ts"], tree.Manifest.Entries.Select(e => e.Path));
        var skipped = Assert.Single(tree.Skipped);
        Assert.Equal(SnapshotPath.Problem(path), skipped.Reason);
        Assert.DoesNotContain(skipped.Path, char.IsControl);
    }

    [Fact]
    public void ValidateManifest_FileOverLimit_LeftOutWithItsSize()
    {
        var tree = PodFilesClient.ValidateManifest([new PodManifestEntry("src/video.mp4", Hash, 101), new PodManifestEntry("src/ok.ts", Hash, 100)], 10, 100);

        Assert.Equal(["src/ok.ts"], tree.Manifest.Entries.Select(e => e.Path));
        Assert.Equal(new SkippedFile("src/video.mp4", "The file is 101 bytes; the limit is 100 bytes per file."), Assert.Single(tree.Skipped));
    }

    [Fact]
    public void ValidateManifest_TooManyFiles_IsRefused()
    {
        var files = Enumerable.Range(0, 11).Select(i => (PodManifestEntry?)new PodManifestEntry($"src/{i}.ts", Hash, 1)).ToList();

        var error = Assert.Throws<SyncRefusedException>(() => PodFilesClient.ValidateManifest(files, 10, 100));

        Assert.Equal("The pod holds 11 files; the limit is 10 files per project.", error.Message);
    }

    [Theory]
    [InlineData("src/a.ts", "not-a-hash", 1L)]
    [InlineData("src/a.ts", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1L)]
    [InlineData("src/a.ts", null, 1L)]
    [InlineData("src/a.ts", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -1L)]
    [InlineData(null, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1L)]
    public void ValidateManifest_BadEntry_IsRefused(string? path, string? sha256, long size)
    {
        Assert.Throws<SyncRefusedException>(() =>
            PodFilesClient.ValidateManifest([new PodManifestEntry(path, sha256, size)], 10, 100));
    }

    [Fact]
    public void ValidateManifest_DuplicatePath_IsRefused()
    {
        var error = Assert.Throws<SyncRefusedException>(() => PodFilesClient.ValidateManifest(
            [new PodManifestEntry("src/a.ts", Hash, 1), new PodManifestEntry("src/a.ts", Hash, 1)], 10, 100));

        Assert.Contains("Duplicate", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"files\": 3}")]
    [InlineData("{}")]
    [InlineData("{\"files\": [{\"path\": \"src/a.ts\", \"sha256\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"size\": 1.5}]}")]
    public async Task GetManifest_MalformedAnswer_IsRefused(string body)
    {
        await using var pod = await FakePod.StartAsync(context => context.Response.WriteAsync(body));

        await Assert.ThrowsAsync<SyncRefusedException>(() => Client().GetManifestAsync(new PodTarget(pod.FilesUrl, pod.PodSecret), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task GetManifest_EndlessAnswer_IsCutOffAtTheBound()
    {
        await using var pod = await FakePod.StartAsync(async context =>
        {
            var chunk = Encoding.ASCII.GetBytes(new string(' ', 64 * 1024));
            try
            {
                for (var i = 0; i < 10_000 && !context.RequestAborted.IsCancellationRequested; i++)
                {
                    await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        var error = await Assert.ThrowsAsync<SyncRefusedException>(() =>
            Client(maxFiles: 10).GetManifestAsync(new PodTarget(pod.FilesUrl, pod.PodSecret), TestContext.Current.CancellationToken));

        Assert.Contains("longer than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadFiles_TarWithExtraEntry_IsRefused()
    {
        var content = "a"u8.ToArray();
        await using var pod = await FakePod.StartAsync(
            context => context.Response.WriteAsync("{\"files\":[]}"),
            async context =>
            {
                using var tar = new MemoryStream();
                using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
                {
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "src/a.ts") { DataStream = new MemoryStream(content) });
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "src/../../../root/.ssh/authorized_keys") { DataStream = new MemoryStream(content) });
                }
                context.Response.ContentType = "application/x-tar";
                await context.Response.Body.WriteAsync(tar.ToArray());
            });
        var received = new List<string>();

        await Assert.ThrowsAsync<SyncRefusedException>(() => Client().ReadFilesAsync(new PodTarget(pod.FilesUrl, pod.PodSecret),
            [new ManifestEntry("src/a.ts", Sha256Hex.Of(content), 1)],
            (entry, _, _) => { received.Add(entry.Path); return Task.CompletedTask; },
            TestContext.Current.CancellationToken));

        Assert.Equal(["src/a.ts"], received);
    }

    [Fact]
    public async Task GetManifest_PodDown_IsUnavailableNotRefused()
    {
        var closedPort = Infrastructure.LauncherProcess.FreePort();

        await Assert.ThrowsAsync<PodUnavailableException>(() =>
            Client().GetManifestAsync(new PodTarget(new Uri($"http://127.0.0.1:{closedPort}/"), "unused"), TestContext.Current.CancellationToken));
    }

    [Fact(Timeout = 60_000)]
    public async Task ReadFiles_PodStallsMidTar_UnavailableAfterTheDeadlineNotTheHttpTimeout()
    {
        var content = Encoding.UTF8.GetBytes(new string('x', 4096));
        await using var pod = await FakePod.StartAsync(
            context => context.Response.WriteAsync("{\"files\":[]}"),
            async context =>
            {
                context.Response.ContentType = "application/x-tar";
                // A header and a little of the file, then nothing: the answer's headers arrived long ago.
                using var tar = new MemoryStream();
                using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
                {
                    writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "src/a.ts") { DataStream = new MemoryStream(content) });
                }
                await context.Response.Body.WriteAsync(tar.ToArray().AsMemory(0, 1024 + 100));
                await context.Response.Body.FlushAsync();
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            });
        var started = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<PodUnavailableException>(() => Client(podRequestTimeout: TimeSpan.FromSeconds(2)).ReadFilesAsync(new PodTarget(pod.FilesUrl, pod.PodSecret),
            [new ManifestEntry("src/a.ts", Sha256Hex.Of(content), content.Length)],
            (_, _, _) => Task.CompletedTask,
            TestContext.Current.CancellationToken));

        Assert.Contains("did not finish within", error.Message, StringComparison.Ordinal);
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(25));
    }

    private static PodFilesClient Client(int maxFiles = 20_000, TimeSpan? podRequestTimeout = null) => new(
        new HttpClient { Timeout = TimeSpan.FromSeconds(30) },
        Options.Create(new SyncWorkerOptions { MaxFiles = maxFiles, PodRequestTimeout = podRequestTimeout ?? TimeSpan.FromMinutes(5) }),
        NullLogger<PodFilesClient>.Instance);
}
