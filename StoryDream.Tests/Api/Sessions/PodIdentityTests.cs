using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using StoryDream.Api.Projects;
using StoryDream.Api.Sessions;
using StoryDream.Api.Snapshots;
using StoryDream.Sessions;
using StoryDream.Tests.SyncWorker;

namespace StoryDream.Tests.Api.Sessions;

/// <summary>
/// DESIGN section 8: a dead pod's address given to another session's pod. Session A's pod is killed and session B's pod
/// (B's identity and secret, B's files) is started on A's recorded ports; everything A then does to "its" pod is refused.
/// </summary>
public sealed class PodIdentityTests(TestBedFixture fixture) : IClassFixture<TestBedFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 240_000)]
    public async Task ReusedAddress_OtherSessionsPod_CheckpointRestoreAndStopRefusedNothingCommittedOrWritten()
    {
        using var refusals = new RefusalCounter();
        using var clientA = Bed.Api.Client(SessionTestBed.NewUser());
        var projectA = await Bed.Api.CreateProjectAsync(clientA, Ct);
        var sessionA = await StartAsync(clientA, projectA.Id);
        var template = projectA.HeadSnapshotId;
        await File.WriteAllTextAsync(Path.Combine(Bed.Workspace(sessionA.Id), "src", "a.ts"), "export const a = 1;\n", Ct);
        Assert.Equal(SyncEvent.Done, (await RunAsync(SyncKinds.Sync, projectA.Id, sessionA.Id, SyncReasons.Checkpoint)).Status);
        var headA = await HeadAsync(clientA, projectA.Id);
        Assert.NotEqual(template, headA);

        using var clientB = Bed.Api.Client(SessionTestBed.NewUser());
        var projectB = await Bed.Api.CreateProjectAsync(clientB, Ct);
        var sessionB = await StartAsync(clientB, projectB.Id);
        var recordA = (await Bed.Api.Service<SessionManager>().ReadAsync(sessionA.Id))!;
        var recordB = (await Bed.Api.Service<SessionManager>().ReadAsync(sessionB.Id))!;

        await Bed.KillPodAsync(sessionA.Id, Ct);
        var impostorWorkspace = Directory.CreateTempSubdirectory("sd-impostor-").FullName;
        await using var impostor = await PodProcess.StartAsync(impostorWorkspace, new Dictionary<string, string>
        {
            ["STORYDREAM_SESSION_ID"] = sessionB.Id,
            ["STORYDREAM_POD_SECRET"] = recordB.PodSecret!,
            ["FILES_PORT"] = recordA.FilesUrl.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AGENT_PORT"] = recordA.AgentUrl.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PREVIEW_PORT"] = recordA.PreviewUrl.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Assert.Equal(recordA.FilesUrl, impostor.FilesUrl);
        impostor.WriteFile("src/b-only.ts", "export const b = 'tenant B';\n"u8.ToArray());
        var impostorFiles = impostor.ReadFiles();

        var checkpoint = await RunAsync(SyncKinds.Sync, projectA.Id, sessionA.Id, SyncReasons.Checkpoint);
        Assert.Equal(SyncEvent.Failed, checkpoint.Status);
        Assert.Contains($"is not the pod of session {sessionA.Id}", checkpoint.Error, StringComparison.Ordinal);
        Assert.Contains($"it says it is session '{sessionB.Id}'", checkpoint.Error, StringComparison.Ordinal);
        Assert.Equal(headA, await HeadAsync(clientA, projectA.Id));
        Assert.NotNull((await Bed.Api.Service<SessionManager>().ReadAsync(sessionA.Id))?.ReplaceReason);

        var restore = await clientA.PostAsync($"api/projects/{projectA.Id}/snapshots/{template}/restore", null, Ct);
        Assert.Equal(HttpStatusCode.OK, restore.StatusCode);
        Assert.Equal(template, (await restore.Content.ReadFromJsonAsync<SnapshotResponse>(Ct))!.Id);
        AssertSameFiles(impostorFiles, impostor.ReadFiles());
        Assert.Null(await Bed.Api.Service<SessionManager>().ReadAsync(sessionA.Id));

        // The refused session is gone: a stop has nothing to sync, and a new start gets a pod of A's own.
        Assert.Equal(HttpStatusCode.NotFound, (await clientA.DeleteAsync($"api/projects/{projectA.Id}/session", Ct)).StatusCode);
        var again = await StartAsync(clientA, projectA.Id);
        Assert.NotEqual(sessionA.Id, again.Id);
        Assert.False(File.Exists(Path.Combine(Bed.Workspace(again.Id), "src", "b-only.ts")));
        Assert.False(File.Exists(Path.Combine(Bed.Workspace(again.Id), "src", "a.ts")), "the restored template has no a.ts");
        Assert.Equal(HttpStatusCode.Accepted, (await clientA.DeleteAsync($"api/projects/{projectA.Id}/session", Ct)).StatusCode);

        AssertSameFiles(impostorFiles, impostor.ReadFiles());
        Assert.True(await Bed.Runtime().IsAliveAsync(sessionB.Id, Ct), "B's own pod is untouched");
        Assert.True(refusals.Count >= 2, $"each refusal is counted ({refusals.Count})");
    }

    [Fact(Timeout = 240_000)]
    public async Task ReusedAddress_StopOfTheSession_FinalSyncRefusedAndSessionDiscardedWithNothingCommitted()
    {
        using var clientA = Bed.Api.Client(SessionTestBed.NewUser());
        var projectA = await Bed.Api.CreateProjectAsync(clientA, Ct);
        var sessionA = await StartAsync(clientA, projectA.Id);
        using var clientB = Bed.Api.Client(SessionTestBed.NewUser());
        var sessionB = await StartAsync(clientB, (await Bed.Api.CreateProjectAsync(clientB, Ct)).Id);
        var recordA = (await Bed.Api.Service<SessionManager>().ReadAsync(sessionA.Id))!;
        var recordB = (await Bed.Api.Service<SessionManager>().ReadAsync(sessionB.Id))!;

        await Bed.KillPodAsync(sessionA.Id, Ct);
        await using var impostor = await PodProcess.StartAsync(environment: new Dictionary<string, string>
        {
            ["STORYDREAM_SESSION_ID"] = sessionB.Id,
            ["STORYDREAM_POD_SECRET"] = recordB.PodSecret!,
            ["FILES_PORT"] = recordA.FilesUrl.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        impostor.WriteFile("src/b-only.ts", "export const b = 'tenant B';\n"u8.ToArray());

        Assert.Equal(HttpStatusCode.Accepted, (await clientA.DeleteAsync($"api/projects/{projectA.Id}/session", Ct)).StatusCode);
        await SessionGateway.SessionSeed.EventuallyAsync(
            async () => await Bed.Api.Service<SessionManager>().ReadAsync(sessionA.Id) is null, "session A to be discarded", Ct, TimeSpan.FromSeconds(60));

        Assert.Equal(projectA.HeadSnapshotId, await HeadAsync(clientA, projectA.Id));
        Assert.Contains("src/b-only.ts", impostor.ReadFiles().Keys);
    }

    [Fact(Timeout = 240_000)]
    public async Task ReusedAddress_ChatTurn_RefusedBeforeAnythingReachesThatPod()
    {
        var user = SessionTestBed.NewUser();
        using var clientA = Bed.Api.Client(user);
        var projectA = await Bed.Api.CreateProjectAsync(clientA, Ct);
        var sessionA = await StartAsync(clientA, projectA.Id);
        using var clientB = Bed.Api.Client(SessionTestBed.NewUser());
        var sessionB = await StartAsync(clientB, (await Bed.Api.CreateProjectAsync(clientB, Ct)).Id);
        var recordA = (await Bed.Api.Service<SessionManager>().ReadAsync(sessionA.Id))!;
        var recordB = (await Bed.Api.Service<SessionManager>().ReadAsync(sessionB.Id))!;
        // A's pod is alive as far as the runtime can tell; only its agent port now leads to B's pod.
        await Bed.Redis.Db.HashSetAsync(RedisKeys.Session(sessionA.Id), "agentUrl", recordB.AgentUrl.ToString());

        await using var chat = await Bed.Api.ChatAsync(projectA.Id, Bed.Token(user), Ct);
        await chat.SendAsync(new { type = "user_message", content = "create src/from-a.ts with A's words", clientMessageId = "c1" }, Ct);
        var error = await chat.WaitForAsync("error", Ct, wait: TimeSpan.FromSeconds(60));

        Assert.Contains("session stopped", error["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Bed.Workspace(sessionB.Id), "src", "from-a.ts")));
        Assert.False(File.Exists(Path.Combine(Bed.Workspace(sessionA.Id), "src", "from-a.ts")));
        Assert.NotNull(recordA.PodSecret);
    }

    private static void AssertSameFiles(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (path, content) in expected) { Assert.Equal(content, actual[path]); }
    }

    private Task<SyncEvent> RunAsync(string kind, string projectId, string sessionId, string reason) =>
        Bed.Api.Service<SyncJobs>().RunAsync(new SyncJob(Guid.NewGuid().ToString("D"), kind, projectId, sessionId, reason), TimeSpan.FromSeconds(60), Ct);

    private static async Task<string> HeadAsync(HttpClient client, string projectId) =>
        (await client.GetFromJsonAsync<ProjectResponse>($"api/projects/{projectId}", Ct))!.HeadSnapshotId;

    private static async Task<SessionResponse> StartAsync(HttpClient client, string projectId)
    {
        var response = await client.PostAsync($"api/projects/{projectId}/session", null, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<SessionResponse>(Ct))!;
    }

    /// <summary>Counts <c>storydream.pod.identity_refused</c> while it lives.</summary>
    private sealed class RefusalCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _count;

        public RefusalCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == PodIdentity.MeterName) { listener.EnableMeasurementEvents(instrument); }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
            _listener.Start();
        }

        public long Count => Interlocked.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
