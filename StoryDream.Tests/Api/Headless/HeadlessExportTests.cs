using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StoryDream.Api.Webhooks;
using StoryDream.Tests.Api.Exports;
using StoryDream.Tests.Api.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Headless;

/// <summary>Jobs that ask for a video: the exporting phase, the download link, <c>export.completed</c>, and a failed render.</summary>
public sealed class HeadlessExportTests(HeadlessBedFixture fixture) : IClassFixture<HeadlessBedFixture>
{
    private static readonly string[] ExportEvent = [WebhookEvents.ExportCompleted];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 420_000)]
    public async Task Requirements_WithExport_CompleteWithAnExportUrlToTheMp4AndExportCompletedSigned()
    {
        var user = SessionTestBed.NewUser();
        using var bearer = Bed.Api.Client(user);
        var projectId = await SmallProjectAsync(bearer, Bed.Api);
        var (_, client) = await Headless.ApiKeyClientAsync(Bed.Api, user);
        using var _ = client;
        await using var oneOff = await WebhookReceiver.StartAsync();
        await using var subscribed = await WebhookReceiver.StartAsync();
        var registered = await bearer.PostAsJsonAsync("api/webhooks", new { url = subscribed.Url.ToString(), events = ExportEvent }, Ct);
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var registeredSecret = (string)(await registered.Content.ReadFromJsonAsync<JsonObject>(Ct))!["secret"]!;

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new
        {
            projectId,
            requirements = "create src/exported.txt with in the video's snapshot",
            export = new { codec = "h264" },
            webhookUrl = oneOff.Url.ToString(),
        }));
        var jobId = (string)accepted["jobId"]!;
        var exporting = await WaitForExportingAsync(client, jobId);
        var job = await Headless.FinishedAsync(client, jobId);

        Assert.True((string?)job["status"] == "complete", job.ToJsonString());
        Assert.Equal("complete", (string?)job["phase"]);
        Assert.All((string[])["queued", "starting", "agent_running", "syncing", "exporting", "complete"], phase => Assert.NotNull(job["timings"]![phase]));
        var exportId = (string)job["result"]!["exportId"]!;
        Assert.Equal(exportId, (string?)exporting["export"]!["exportId"]);
        Assert.Equal("complete", (string?)job["export"]!["status"]);
        Assert.Equal(100, (int?)job["export"]!["progress"]);
        var snapshotId = (string)job["result"]!["snapshotId"]!;
        Assert.Equal("in the video's snapshot", await bearer.GetStringAsync($"api/projects/{projectId}/files/src/exported.txt?snapshot={snapshotId}", Ct));
        var export = (await bearer.GetFromJsonAsync<JsonObject>($"api/projects/{projectId}/exports/{exportId}", Ct))!;
        Assert.Equal(snapshotId, (string?)export["snapshotId"]);

        // The link needs no credentials: it is the short-lived link the studio's download redirects to.
        using var anonymous = Bed.Api.Client(null);
        var mp4 = await DownloadAsync(anonymous, (string)job["result"]!["exportUrl"]!);
        Assert.Equal((long?)export["size"], mp4.Length);
        using (var probe = await ProbeAsync(mp4))
        {
            var stream = probe.RootElement.GetProperty("streams")[0];
            Assert.Equal("h264", stream.GetProperty("codec_name").GetString());
            Assert.Equal((320, 180), (stream.GetProperty("width").GetInt32(), stream.GetProperty("height").GetInt32()));
        }

        var delivery = await oneOff.WaitForAsync(WebhookEvents.ExportCompleted, Ct);
        Assert.True(WebhookSignature.Verify((string)accepted["webhook"]!["secret"]!, delivery.Signature, Encoding.UTF8.GetBytes(delivery.Body),
            DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
        var data = delivery.Json["data"]!;
        Assert.Equal(jobId, (string?)data["jobId"]);
        Assert.Equal(projectId, (string?)data["projectId"]);
        Assert.Equal(exportId, (string?)data["exportId"]);
        Assert.Equal(snapshotId, (string?)data["snapshotId"]);
        Assert.Equal(mp4.Length, (long?)data["size"]);
        Assert.Equal(3000, (long?)data["durationMs"]);
        Assert.Equal($"/api/jobs/{jobId}", (string?)data["statusUrl"]);
        Assert.Equal(mp4, await DownloadAsync(anonymous, (string)data["downloadUrl"]!));
        var completed = await oneOff.WaitForAsync(WebhookEvents.JobCompleted, Ct);
        Assert.Equal(exportId, (string?)completed.Json["data"]!["exportId"]);
        // A webhook subscribed to export.completed alone gets that, signed with its own secret, and not job.completed.
        var subscribedDelivery = await subscribed.WaitForAsync(WebhookEvents.ExportCompleted, Ct);
        Assert.True(WebhookSignature.Verify(registeredSecret, subscribedDelivery.Signature, Encoding.UTF8.GetBytes(subscribedDelivery.Body),
            DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
        Assert.Equal(exportId, (string?)subscribedDelivery.Json["data"]!["exportId"]);
        Assert.DoesNotContain(subscribed.Deliveries, d => d.Type != WebhookEvents.ExportCompleted);
    }

    [Fact(Timeout = 300_000)]
    public async Task Requirements_ExportFails_JobFailedWithTheExportsReasonAndAnnounced()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var broken = ProjectFiles.SmallComposition().Replace("export const MyVideo = () => {", "export const MyVideo = () => {{ <<<", StringComparison.Ordinal);
        await ProjectFiles.CommitAsync(Bed.Api, project.Id, new Dictionary<string, string> { ["src/compositions/MyVideo.tsx"] = broken }, Ct);
        await using var receiver = await WebhookReceiver.StartAsync();

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new
        {
            projectId = project.Id,
            requirements = "create src/note.txt with the composition stays broken",
            export = new { },
            webhookUrl = receiver.Url.ToString(),
        }));
        var job = await Headless.FinishedAsync(client, (string)accepted["jobId"]!);

        Assert.Equal("failed", (string?)job["status"]);
        Assert.StartsWith("The export failed: ", (string?)job["error"], StringComparison.Ordinal);
        Assert.Contains("MyVideo.tsx", (string?)job["error"], StringComparison.Ordinal);
        Assert.Equal("failed", (string?)job["export"]!["status"]);
        Assert.Equal("h264", (string?)job["export"]!["codec"]);
        Assert.Null(job["result"]);
        var delivery = await receiver.WaitForAsync(WebhookEvents.JobFailed, Ct);
        Assert.Equal((string?)job["error"], (string?)delivery.Json["data"]!["error"]);
        Assert.DoesNotContain(receiver.Deliveries, d => d.Type == WebhookEvents.ExportCompleted);
    }

    [Fact(Timeout = 600_000)]
    public async Task Runner_ProcessStoppedMidExport_AnotherProcessWaitsForTheSameExportAndAnnouncesOnce()
    {
        var settings = HeadlessBedFixture.Settings();
        settings["Headless:ClaimIdleTime"] = "00:00:02";
        // The render the first process ran is found stale by the second and retried, as a render of any dead replica is.
        settings["Exports:StaleAfter"] = "00:00:05";
        await using var bed = await SessionTestBed.StartAsync(fixture.Servers, settings);
        // The first API process gets no shutdown window: its job and render are cut off where they stand, as in a crash.
        await bed.RemoveApiAsync(bed.Api);
        var first = await bed.AddApiAsync(fixture.Servers, configureServices: services => services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.Zero));
        var user = SessionTestBed.NewUser();
        using var client = first.Client(user);
        var projectId = await SmallProjectAsync(client, first, durationInFrames: 300);
        await using var receiver = await WebhookReceiver.StartAsync();

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new
        {
            projectId,
            requirements = "create src/restart.txt with survives",
            export = new { codec = "h264" },
            webhookUrl = receiver.Url.ToString(),
        }));
        var jobId = (string)accepted["jobId"]!;
        var rendering = await WaitForExportingAsync(client, jobId, export => (string?)export["status"] == "rendering");
        await bed.RemoveApiAsync(first);
        var second = await bed.AddApiAsync(fixture.Servers);
        using var secondClient = second.Client(user);

        var job = await Headless.FinishedAsync(secondClient, jobId);

        Assert.True((string?)job["status"] == "complete", job.ToJsonString());
        Assert.Equal(2, (int?)job["attempts"]);
        var exportId = (string)rendering["export"]!["exportId"]!;
        Assert.Equal(exportId, (string?)job["result"]!["exportId"]);
        var exports = (await secondClient.GetFromJsonAsync<JsonObject>($"api/projects/{projectId}/exports", Ct))!["items"]!.AsArray();
        Assert.Equal(exportId, (string?)Assert.Single(exports)!["id"]);
        Assert.Equal("complete", (string?)exports[0]!["status"]);
        await receiver.WaitForAsync(WebhookEvents.JobCompleted, Ct);
        await receiver.WaitForAsync(WebhookEvents.ExportCompleted, Ct);
        // Long enough for a second announcement to have arrived, had there been one.
        await Task.Delay(1_000, Ct);
        Assert.Equal([WebhookEvents.ExportCompleted, WebhookEvents.JobCompleted], receiver.Deliveries.Select(d => d.Type).Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = 240_000)]
    public async Task Requirements_ExportStillRenderingAtTheDeadline_JobFailedNamingItAndTheExportCanceled()
    {
        var settings = HeadlessBedFixture.Settings();
        settings["Headless:JobTimeout"] = "00:00:40";
        await using var bed = await SessionTestBed.StartAsync(fixture.Servers, settings);
        var user = SessionTestBed.NewUser();
        using var client = bed.Api.Client(user);
        // Minutes of video: the render is still going when the deadline comes.
        var projectId = await SmallProjectAsync(client, bed.Api, durationInFrames: 20_000);
        // The session is open before the job, so the agent's part takes a moment and the deadline falls in the export.
        (await client.PostAsync($"api/projects/{projectId}/session", null, Ct)).EnsureSuccessStatusCode();

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new
        {
            projectId,
            requirements = "create src/long.txt with a long video",
            export = new { codec = "h264" },
        }));
        var exportId = (string)(await WaitForExportingAsync(client, (string)accepted["jobId"]!))["export"]!["exportId"]!;
        var job = await Headless.FinishedAsync(client, (string)accepted["jobId"]!);

        Assert.Equal("failed", (string?)job["status"]);
        Assert.Contains("deadline", (string?)job["error"], StringComparison.Ordinal);
        Assert.NotNull(job["timings"]!["exporting"]);
        var export = (await client.GetFromJsonAsync<JsonObject>($"api/projects/{projectId}/exports/{exportId}", Ct))!;
        Assert.Equal("canceled", (string?)export["status"]);
    }

    /// <summary>A project whose composition renders in seconds: 320×180, 30 fps.</summary>
    private static async Task<string> SmallProjectAsync(HttpClient client, ApiReplica api, int durationInFrames = 90)
    {
        var project = await api.CreateProjectAsync(client, Ct);
        await ProjectFiles.CommitAsync(api, project.Id,
            new Dictionary<string, string> { ["src/compositions/MyVideo.tsx"] = ProjectFiles.SmallComposition(durationInFrames) }, Ct);
        return project.Id;
    }

    /// <summary>Polls the job until it is exporting and its export satisfies <paramref name="ready"/> (by default: exists).</summary>
    private static async Task<JsonObject> WaitForExportingAsync(HttpClient client, string jobId, Func<JsonObject, bool>? ready = null)
    {
        while (true)
        {
            var job = (await client.GetFromJsonAsync<JsonObject>($"api/jobs/{jobId}", Ct))!;
            Assert.NotEqual("failed", (string?)job["status"]);
            Assert.NotEqual("complete", (string?)job["status"]);
            if ((string?)job["phase"] == "exporting" && job["export"] is JsonObject export && (ready?.Invoke(export) ?? true)) { return job; }
            await Task.Delay(50, Ct);
        }
    }

    private static async Task<byte[]> DownloadAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(url.TrimStart('/'), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync(Ct);
        // An MP4 opens with its ftyp box.
        Assert.Equal("ftyp"u8.ToArray(), bytes[4..8]);
        return bytes;
    }

    private static async Task<System.Text.Json.JsonDocument> ProbeAsync(byte[] mp4)
    {
        var file = Path.Combine(Path.GetTempPath(), $"headless-export-{Guid.NewGuid():N}.mp4");
        try
        {
            await File.WriteAllBytesAsync(file, mp4, Ct);
            return await Ffmpeg.ProbeAsync(file, ["-show_entries", "stream=codec_name,width,height"], Ct);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
