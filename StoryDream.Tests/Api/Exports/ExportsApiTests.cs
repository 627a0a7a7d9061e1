using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StackExchange.Redis;
using StoryDream.Api.Exports;
using Google.Cloud.Storage.V1;
using StoryDream.Sessions;
using StoryDream.Tests.Api.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Exports;

public sealed class ExportsApiTests(ExportBedFixture fixture) : IClassFixture<ExportBedFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 600_000)]
    public async Task Export_DefaultTemplate_PlayableMp4AsTheCompositionSaysWithProgressTo100()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var progress = new List<int>();
        var subscriber = Bed.Api.Service<IConnectionMultiplexer>().GetSubscriber();
        var channel = await subscriber.SubscribeAsync(RedisChannel.Literal(RedisKeys.ExportEventsChannel));
        channel.OnMessage(message =>
        {
            using var json = JsonDocument.Parse(message.Message.ToString());
            if (json.RootElement.GetProperty("projectId").GetString() == project.Id)
            {
                lock (progress) { progress.Add(json.RootElement.GetProperty("progress").GetInt32()); }
            }
        });

        var response = await client.PostAsJsonAsync($"api/projects/{project.Id}/exports", new { codec = "h264" }, Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<ExportResponse>(Ct))!;
        Assert.Equal("queued", created.Status);
        Assert.Equal(project.HeadSnapshotId, created.SnapshotId);
        Assert.Equal($"/api/projects/{project.Id}/exports/{created.Id}", response.Headers.Location?.OriginalString);

        var done = await WaitAsync(client, project.Id, created.Id, e => e.Status is "complete" or "failed", TimeSpan.FromMinutes(9));
        await channel.UnsubscribeAsync();

        Assert.True(done.Status == "complete", done.Error);
        Assert.Equal(100, done.Progress);
        Assert.Equal(5000, done.DurationMs);
        Assert.Equal("MyVideo", done.Composition);
        lock (progress)
        {
            Assert.Contains(progress, p => p is > 0 and < 100);
            Assert.Equal(100, progress[^1]);
            Assert.Equal(progress.Order(), progress);
        }
        var stored = await StoredAsync($"assets/{project.Id}/exports/{created.Id}.mp4");
        Assert.Equal(done.Size, (long?)stored?.Size);
        // The record turns complete first; the worker deletes the pod right after.
        Assert.True(await GoneAsync(RenderPodDirectory(done)), "the render pod must be deleted");

        var listed = await client.GetFromJsonAsync<ExportList>($"api/projects/{project.Id}/exports", Ct);
        Assert.Equal(created.Id, Assert.Single(listed!.Items).Id);

        var file = Path.Combine(Path.GetTempPath(), $"export-{created.Id}.mp4");
        try
        {
            await using (var download = await client.GetStreamAsync(done.DownloadUrl!.TrimStart('/'), Ct))
            await using (var output = File.Create(file))
            {
                await download.CopyToAsync(output, Ct);
            }
            Assert.Equal(done.Size, new FileInfo(file).Length);
            var probe = await ProbeAsync(file);
            Assert.Equal("h264", probe.Codec);
            Assert.Equal((1920, 1080), (probe.Width, probe.Height));
            Assert.Equal(5.0, probe.Duration, 2);
            Assert.Equal(150, probe.Frames);

            // The studio's way: the same short-lived link as JSON, which needs no bearer token.
            var link = await client.GetFromJsonAsync<DownloadLinkResponse>($"api/projects/{project.Id}/exports/{created.Id}/link", Ct);
            Assert.StartsWith($"/api/projects/{project.Id}/downloads/", link!.Url, StringComparison.Ordinal);
            Assert.True(link.ExpiresAt > DateTimeOffset.UtcNow);
            using var anonymous = Bed.Api.Client(null);
            Assert.Equal(done.Size, (await anonymous.GetByteArrayAsync(link.Url.TrimStart('/'), Ct)).LongLength);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact(Timeout = 300_000)]
    public async Task Export_RenderPodKilledMidRender_RetriedAndComplete()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (projectId, snapshotId) = await SmallProjectAsync(client, durationInFrames: 600);
        var export = await StartAsync(client, projectId, new { snapshotId });

        var running = await WaitAsync(client, projectId, export.Id, e => e.Status == "rendering" && e.Progress > 0 && RenderPid(projectId, e.Id) is not null, TimeSpan.FromMinutes(3));
        var podDir = RenderPodDirectory(running);
        using (var pod = Process.GetProcessById(RenderPid(projectId, export.Id)!.Value))
        {
            pod.Kill();
            await pod.WaitForExitAsync(Ct);
        }

        var done = await WaitAsync(client, projectId, export.Id, e => e.Attempt > 1 || ExportStatuses.IsFinal(e.Status), TimeSpan.FromMinutes(3));
        Assert.Equal(2, done.Attempt);
        Assert.Contains("stopped mid-render", done.Error ?? "", StringComparison.Ordinal);
        done = await WaitAsync(client, projectId, export.Id, e => e.Status is "complete" or "failed", TimeSpan.FromMinutes(3));
        Assert.True(done.Status == "complete", done.Error);
        Assert.False(Directory.Exists(podDir));
    }

    [Fact(Timeout = 300_000)]
    public async Task Export_RenderPodStopsReporting_StaleThenRetriedAndComplete()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (projectId, snapshotId) = await SmallProjectAsync(client, durationInFrames: 600);
        var export = await StartAsync(client, projectId, new { snapshotId });

        await WaitAsync(client, projectId, export.Id, e => e.Status == "rendering" && e.Progress > 0 && RenderPid(projectId, e.Id) is not null, TimeSpan.FromMinutes(3));
        Signal(RenderPid(projectId, export.Id)!.Value, "STOP");

        var retried = await WaitAsync(client, projectId, export.Id, e => e.Attempt > 1 || ExportStatuses.IsFinal(e.Status), TimeSpan.FromMinutes(2));
        Assert.Equal(2, retried.Attempt);
        Assert.Contains("stopped reporting", retried.Error ?? "", StringComparison.Ordinal);
        var done = await WaitAsync(client, projectId, export.Id, e => ExportStatuses.IsFinal(e.Status), TimeSpan.FromMinutes(3));
        Assert.True(done.Status == "complete", done.Error);
    }

    [Fact(Timeout = 300_000)]
    public async Task Export_WarmPodReady_RendersInItThenAnotherIsStartedOnceTheRenderIsDone()
    {
        var pods = Bed.Api.Service<RenderPods>();
        var redis = Bed.Api.Service<IConnectionMultiplexer>().GetDatabase();
        var warm = await UntilAsync(() => pods.WarmPodIds.FirstOrDefault(), TimeSpan.FromMinutes(2));
        Assert.NotNull(PodPid(warm));
        Assert.NotNull(await redis.SortedSetScoreAsync("renders:warm", warm));
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (projectId, snapshotId) = await SmallProjectAsync(client);

        var export = await StartAsync(client, projectId, new { snapshotId });
        var done = await WaitAsync(client, projectId, export.Id, e => ExportStatuses.IsFinal(e.Status), TimeSpan.FromMinutes(3));

        Assert.True(done.Status == "complete", done.Error);
        Assert.Equal(warm, (await Bed.Api.Service<IExportStore>().GetAsync(projectId, export.Id, Ct))!.PodId);
        Assert.True(await GoneAsync(Path.Combine(Bed.StateDirectory, "renders", warm)), "the warm pod serves one render and is deleted");
        Assert.Null(await redis.SortedSetScoreAsync("renders:warm", warm));
        var next = await UntilAsync(() => pods.WarmPodIds.FirstOrDefault(id => id != warm), TimeSpan.FromMinutes(2));
        Assert.NotNull(await redis.SortedSetScoreAsync("renders:warm", next));
    }

    [Fact(Timeout = 300_000)]
    public async Task Export_WarmPodKilledWhileWaiting_RendersInAPodOfItsOwnAndThePoolReplacesIt()
    {
        var pods = Bed.Api.Service<RenderPods>();
        var warm = await UntilAsync(() => pods.WarmPodIds.FirstOrDefault(), TimeSpan.FromMinutes(2));
        Signal(PodPid(warm)!.Value, "KILL");
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (projectId, snapshotId) = await SmallProjectAsync(client);

        var export = await StartAsync(client, projectId, new { snapshotId });
        var done = await WaitAsync(client, projectId, export.Id, e => ExportStatuses.IsFinal(e.Status), TimeSpan.FromMinutes(3));

        Assert.True(done.Status == "complete", done.Error);
        Assert.Equal(1, done.Attempt);
        Assert.NotEqual(warm, (await Bed.Api.Service<IExportStore>().GetAsync(projectId, export.Id, Ct))!.PodId);
        Assert.True(await GoneAsync(Path.Combine(Bed.StateDirectory, "renders", warm)), "the dead warm pod's folder must be removed");
        Assert.Null(await Bed.Api.Service<IConnectionMultiplexer>().GetDatabase().SortedSetScoreAsync("renders:warm", warm));
        await UntilAsync(() => pods.WarmPodIds.FirstOrDefault(id => id != warm), TimeSpan.FromMinutes(2));
    }

    [Fact(Timeout = 120_000)]
    public async Task WarmPod_NoReplicaConfirmsIt_DeletedByTheNextSweep()
    {
        // A warm pod whose replica died: registered, then never confirmed again.
        var orphan = Guid.NewGuid().ToString("D");
        var queue = Bed.Api.Service<ExportQueue>();
        await queue.AddWarmPodAsync(orphan, TimeSpan.FromSeconds(1));
        await Bed.Api.Service<StoryDream.Api.Sessions.ISessionRuntime>().CreateRenderAsync(orphan, null, PodCredentials.NewPodSecret(), Ct);
        var pid = PodPid(orphan)!.Value;

        Assert.True(await GoneAsync(Path.Combine(Bed.StateDirectory, "renders", orphan)), "the orphan must be deleted by a sweep");
        Assert.Null(await Bed.Api.Service<IConnectionMultiplexer>().GetDatabase().SortedSetScoreAsync("renders:warm", orphan));
        Assert.False(IsRunning(pid), $"the orphan's process {pid} must be stopped");
    }

    [Fact(Timeout = 300_000)]
    public async Task Cancel_MidRender_StopsThePodAndLeavesNoObject()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (projectId, snapshotId) = await SmallProjectAsync(client, durationInFrames: 600);
        var export = await StartAsync(client, projectId, new { snapshotId });
        var running = await WaitAsync(client, projectId, export.Id, e => e.Status == "rendering" && e.Progress > 0, TimeSpan.FromMinutes(3));
        var podDir = RenderPodDirectory(running);

        var response = await client.DeleteAsync($"api/projects/{projectId}/exports/{export.Id}", Ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("canceled", (await response.Content.ReadFromJsonAsync<ExportResponse>(Ct))!.Status);
        Assert.True(await GoneAsync(podDir), "the render pod must be stopped");
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        var after = await client.GetFromJsonAsync<ExportResponse>($"api/projects/{projectId}/exports/{export.Id}", Ct);
        Assert.Equal("canceled", after!.Status);
        Assert.Null(await StoredAsync($"assets/{projectId}/exports/{export.Id}.mp4"));
        var download = await client.GetAsync($"api/projects/{projectId}/exports/{export.Id}/download", Ct);
        await ProblemAssert.IsProblemAsync(download, HttpStatusCode.Conflict, "conflict");
        await ProblemAssert.IsProblemAsync(await client.GetAsync($"api/projects/{projectId}/exports/{export.Id}/link", Ct), HttpStatusCode.Conflict, "conflict");
    }

    [Fact(Timeout = 300_000)]
    public async Task Export_MissingComposition_FailsWithTheRenderersMessage()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (projectId, snapshotId) = await SmallProjectAsync(client);
        var export = await StartAsync(client, projectId, new { snapshotId, composition = "NoSuchVideo" });

        var done = await WaitAsync(client, projectId, export.Id, e => ExportStatuses.IsFinal(e.Status), TimeSpan.FromMinutes(4));

        Assert.Equal("failed", done.Status);
        Assert.Contains("NoSuchVideo", done.Error ?? "", StringComparison.Ordinal);
        Assert.Contains("MyVideo", done.Error ?? "", StringComparison.Ordinal);
    }

    [Fact(Timeout = 300_000)]
    public async Task Export_CodeThatDoesNotCompile_FailsWithTheBundlersMessage()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var broken = ProjectFiles.SmallComposition().Replace("export const MyVideo = () => {", "export const MyVideo = () => {{ <<<", StringComparison.Ordinal);
        var snapshotId = await ProjectFiles.CommitAsync(Bed.Api, project.Id, new Dictionary<string, string> { ["src/compositions/MyVideo.tsx"] = broken }, Ct);
        var export = await StartAsync(client, project.Id, new { snapshotId });

        var done = await WaitAsync(client, project.Id, export.Id, e => ExportStatuses.IsFinal(e.Status), TimeSpan.FromMinutes(4));

        Assert.Equal("failed", done.Status);
        Assert.Contains("MyVideo.tsx", done.Error ?? "", StringComparison.Ordinal);
    }

    [Fact(Timeout = 120_000)]
    public async Task Export_UnknownSnapshot_FailsNamingIt()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var unknown = new string('a', 64);
        var export = await StartAsync(client, project.Id, new { snapshotId = unknown });

        var done = await WaitAsync(client, project.Id, export.Id, e => ExportStatuses.IsFinal(e.Status), TimeSpan.FromMinutes(2));

        Assert.Equal("failed", done.Status);
        Assert.Contains(unknown, done.Error ?? "", StringComparison.Ordinal);
        // The record turns failed first; the worker deletes the pod right after.
        Assert.True(await GoneAsync(RenderPodDirectory(done)), "the render pod must be deleted");
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_BadFields_ValidationProblemNamingEachAndNothingStored()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);

        var response = await client.PostAsJsonAsync($"api/projects/{project.Id}/exports",
            new { snapshotId = "../etc", composition = "a/b", codec = "vp9", quality = 0 }, Ct);

        await ProblemAssert.ValidationAsync(response, "snapshotId", "composition", "codec", "quality");
        var listed = await client.GetFromJsonAsync<ExportList>($"api/projects/{project.Id}/exports", Ct);
        Assert.Empty(listed!.Items);
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_OverThePerUserLimit_429()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var unknown = new string('b', 64);
        var accepted = new List<ExportResponse>();
        for (var i = 0; i < 3; i++) { accepted.Add(await StartAsync(client, project.Id, new { snapshotId = unknown })); }

        var fourth = await client.PostAsJsonAsync($"api/projects/{project.Id}/exports", new { snapshotId = unknown }, Ct);

        await ProblemAssert.IsProblemAsync(fourth, HttpStatusCode.TooManyRequests, "rate-limited");
        foreach (var export in accepted) { await client.DeleteAsync($"api/projects/{project.Id}/exports/{export.Id}", Ct); }
        var listed = await client.GetFromJsonAsync<ExportList>($"api/projects/{project.Id}/exports", Ct);
        Assert.Equal(3, listed!.Items.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task EveryRoute_ForeignOrUnknownIds_404()
    {
        using var owner = Bed.Api.Client(SessionTestBed.NewUser());
        using var stranger = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(owner, Ct);
        var other = await Bed.Api.CreateProjectAsync(owner, Ct);
        var export = await StartAsync(owner, project.Id, new { snapshotId = new string('c', 64) });
        var exports = $"api/projects/{project.Id}/exports";

        await ProblemAssert.IsProblemAsync(await stranger.PostAsJsonAsync(exports, new { }, Ct), HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(await stranger.GetAsync(exports, Ct), HttpStatusCode.NotFound, "not-found");
        foreach (var (client, path) in new[]
        {
            (stranger, $"{exports}/{export.Id}"),
            (owner, $"api/projects/{other.Id}/exports/{export.Id}"),
            (owner, $"{exports}/{Guid.NewGuid()}"),
            (owner, $"{exports}/..%2F..%2Fsession"),
        })
        {
            await ProblemAssert.IsProblemAsync(await client.GetAsync(path, Ct), HttpStatusCode.NotFound, "not-found");
            await ProblemAssert.IsProblemAsync(await client.GetAsync($"{path}/download", Ct), HttpStatusCode.NotFound, "not-found");
            await ProblemAssert.IsProblemAsync(await client.GetAsync($"{path}/link", Ct), HttpStatusCode.NotFound, "not-found");
            await ProblemAssert.IsProblemAsync(await client.DeleteAsync(path, Ct), HttpStatusCode.NotFound, "not-found");
        }
        var still = await owner.GetFromJsonAsync<ExportResponse>($"{exports}/{export.Id}", Ct);
        Assert.NotEqual("canceled", still!.Status);
        await owner.DeleteAsync($"{exports}/{export.Id}", Ct);
    }

    [Fact(Timeout = 300_000)]
    public async Task Thumbnail_AfterAnAgentTurn_StillOfThatSnapshotWithAnETag()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await ProblemAssert.IsProblemAsync(await client.GetAsync($"api/projects/{project.Id}/thumbnail", Ct), HttpStatusCode.NotFound, "not-found");
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);

        await chat.SendAsync(new { type = "user_message", content = "set title to Thumbnails work" }, Ct);
        var snapshotId = (string)(await chat.WaitForAsync("snapshot_created", Ct, wait: TimeSpan.FromMinutes(2)))["snapshotId"]!;

        var name = $"assets/{project.Id}/thumbnail.png";
        var started = Stopwatch.GetTimestamp();
        while (await StoredAsync(name) is null)
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromMinutes(4), "no thumbnail after the turn");
            await Task.Delay(250, Ct);
        }
        Assert.Equal(snapshotId, (await StoredAsync(name))!.Metadata["snapshotId"]);
        var response = await client.GetAsync($"api/projects/{project.Id}/thumbnail", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var png = await response.Content.ReadAsByteArrayAsync(Ct);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.Equal((1920, 1080), (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20))));
        var etag = response.Headers.ETag!;

        using var conditional = new HttpRequestMessage(HttpMethod.Get, $"api/projects/{project.Id}/thumbnail");
        conditional.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(conditional, Ct)).StatusCode);
        using var stranger = Bed.Api.Client(SessionTestBed.NewUser());
        await ProblemAssert.IsProblemAsync(await stranger.GetAsync($"api/projects/{project.Id}/thumbnail", Ct), HttpStatusCode.NotFound, "not-found");
    }

    private async Task<(string ProjectId, string SnapshotId)> SmallProjectAsync(HttpClient client, int durationInFrames = 90)
    {
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var snapshotId = await ProjectFiles.CommitAsync(Bed.Api, project.Id,
            new Dictionary<string, string> { ["src/compositions/MyVideo.tsx"] = ProjectFiles.SmallComposition(durationInFrames) }, Ct);
        return (project.Id, snapshotId);
    }

    private static async Task<ExportResponse> StartAsync(HttpClient client, string projectId, object body)
    {
        var response = await client.PostAsJsonAsync($"api/projects/{projectId}/exports", body, Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ExportResponse>(Ct))!;
    }

    private static async Task<ExportResponse> WaitAsync(HttpClient client, string projectId, string exportId, Func<ExportResponse, bool> done, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var export = (await client.GetFromJsonAsync<ExportResponse>($"api/projects/{projectId}/exports/{exportId}", Ct))!;
            if (done(export)) { return export; }
            if (Stopwatch.GetElapsedTime(started) > timeout) { throw new TimeoutException($"Export {exportId} still {export.Status} ({export.Progress}%, attempt {export.Attempt}, {export.Error})."); }
            await Task.Delay(100, Ct);
        }
    }

    /// <summary>The pid of the export's current render pod, once it is up.</summary>
    private int? RenderPid(string projectId, string exportId) =>
        Bed.Api.Service<IExportStore>().GetAsync(projectId, exportId, Ct).GetAwaiter().GetResult()?.PodId is { } podId ? PodPid(podId) : null;

    /// <summary>The pid of a render pod that is up (its endpoints recorded; before that it is still starting).</summary>
    private int? PodPid(string podId)
    {
        var state = Path.Combine(Bed.StateDirectory, "renders", podId, "state.json");
        if (!File.Exists(state)) { return null; }
        using var json = JsonDocument.Parse(File.ReadAllText(state));
        return json.RootElement.GetProperty("Render").ValueKind == JsonValueKind.Object ? json.RootElement.GetProperty("Pid").GetInt32() : null;
    }

    private static async Task<T> UntilAsync<T>(Func<T?> value, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (value() is { } found) { return found; }
            if (Stopwatch.GetElapsedTime(started) > timeout) { throw new TimeoutException($"Nothing within {timeout}."); }
            await Task.Delay(100, Ct);
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Whether a render pod's folder is gone within 30 s: its deletion follows the record's last change.</summary>
    private static async Task<bool> GoneAsync(string podDirectory)
    {
        var started = Stopwatch.GetTimestamp();
        while (Directory.Exists(podDirectory) && Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(30)) { await Task.Delay(100, Ct); }
        return !Directory.Exists(podDirectory);
    }

    private string RenderPodDirectory(ExportResponse export) =>
        Path.Combine(Bed.StateDirectory, "renders", Bed.Api.Service<IExportStore>().GetAsync(export.ProjectId, export.Id, Ct).GetAwaiter().GetResult()!.PodId!);

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    private static async Task<(string Codec, int Width, int Height, double Duration, int Frames)> ProbeAsync(string file)
    {
        using var json = await Ffmpeg.ProbeAsync(file, ["-count_frames", "-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration"], Ct);
        var stream = json.RootElement.GetProperty("streams")[0];
        return (stream.GetProperty("codec_name").GetString()!, stream.GetProperty("width").GetInt32(), stream.GetProperty("height").GetInt32(),
            double.Parse(json.RootElement.GetProperty("format").GetProperty("duration").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(stream.GetProperty("nb_read_frames").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
    }

    private async Task<Google.Apis.Storage.v1.Data.Object?> StoredAsync(string name)
    {
        try
        {
            return await Bed.Api.Service<StorageClient>().GetObjectAsync(Bed.Bucket, name, cancellationToken: Ct);
        }
        catch (Google.GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
