using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using StoryDream.Api.Sessions;
using StoryDream.Sessions;

namespace StoryDream.Tests.Api.Sessions;

public sealed class SessionsApiTests(TestBedFixture fixture) : IClassFixture<TestBedFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 180_000)]
    public async Task Start_FiftyInParallelForOneProject_MakeExactlyOnePod()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var before = Bed.PodFolders();

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => client.PostAsync($"api/projects/{project.Id}/session", null, Ct)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var sessions = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<SessionResponse>(Ct)));
        var id = Assert.Single(sessions.Select(s => s!.Id).Distinct());
        Assert.All(sessions, s => Assert.Equal("ready", s!.Status));
        Assert.Equal([id], Bed.PodFolders().Except(before));
        Assert.True(await Bed.Runtime().IsAliveAsync(id, Ct));
    }

    [Fact(Timeout = 120_000)]
    public async Task Start_Twice_ReusesTheSessionAndItsPod()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);

        var first = await StartAsync(client, project.Id);
        var started = Stopwatch.GetTimestamp();
        var second = await StartAsync(client, project.Id);

        Assert.Equal(first.Id, second.Id);
        Assert.Single(Bed.PodFolders(), f => f == first.Id);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(5), "a reuse must not start anything");
    }

    [Fact(Timeout = 120_000)]
    public async Task Start_NewProject_PodHydratedWithTheTemplateAndTokenOpensThePreview()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);

        var session = await StartAsync(client, project.Id);

        var files = await client.GetFromJsonAsync<List<FileEntry>>($"api/projects/{project.Id}/files", Ct);
        Assert.NotEmpty(files!);
        foreach (var file in files!)
        {
            Assert.True(File.Exists(Path.Combine(Bed.Workspace(session.Id), file.Path)), $"{file.Path} was not hydrated");
        }
        Assert.Equal(project.Id, session.ProjectId);
        Assert.Equal(new Uri($"http://127.0.0.1:9/preview/{session.Id}/"), session.PreviewUrl);
        var tokens = PreviewTokens.FromBase64Key(Bed.PreviewTokenKey, TimeProvider.System);
        Assert.Equal(user, tokens.Validate(session.PreviewToken, session.Id));
        Assert.Null(tokens.Validate(session.PreviewToken, Guid.NewGuid().ToString("D")));
        Assert.InRange(session.ExpiresAt, DateTimeOffset.UtcNow.AddMinutes(14), DateTimeOffset.UtcNow.AddMinutes(16));
        var record = await Bed.Api.Service<SessionManager>().ReadAsync(session.Id);
        Assert.Equal(SessionStatus.Ready, record!.Status);
        Assert.Equal("local", record.Runtime);
        Assert.Equal(user, record.OwnerId);
    }

    [Fact(Timeout = 120_000)]
    public async Task Get_BeforeAndAfterStart_404ThenTheLiveSession()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);

        var none = await client.GetAsync($"api/projects/{project.Id}/session", Ct);
        var started = await StartAsync(client, project.Id);
        var live = await client.GetFromJsonAsync<SessionResponse>($"api/projects/{project.Id}/session", Ct);

        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
        Assert.Equal(started.Id, live!.Id);
        Assert.Equal("ready", live.Status);
    }

    [Fact(Timeout = 180_000)]
    public async Task Stop_AfterAnEdit_FinalSnapshotHoldsTheEditAndThePodIsGone()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var session = await StartAsync(client, project.Id);
        var pid = Bed.PodPid(session.Id);
        // The last edit, made after every sync so far: only the final sync can save it.
        await File.WriteAllTextAsync(Path.Combine(Bed.Workspace(session.Id), "src", "last-edit.txt"), "kept", Ct);

        var response = await client.DeleteAsync($"api/projects/{project.Id}/session", Ct);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("stopping", (await response.Content.ReadFromJsonAsync<SessionResponse>(Ct))!.Status);
        await WaitUntilAsync(async () => (await client.GetAsync($"api/projects/{project.Id}/session", Ct)).StatusCode == HttpStatusCode.NotFound);
        Assert.DoesNotContain(session.Id, Bed.PodFolders());
        Assert.False(File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal), "the pod process still runs");
        var content = await client.GetStringAsync($"api/projects/{project.Id}/files/src/last-edit.txt", Ct);
        Assert.Equal("kept", content);
    }

    [Fact(Timeout = 120_000)]
    public async Task Stop_NoSession_404()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);

        var response = await client.DeleteAsync($"api/projects/{project.Id}/session", Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task SessionRoutes_AnotherUsersProject_404AndNothingStarted()
    {
        using var owner = Bed.Api.Client(SessionTestBed.NewUser());
        using var stranger = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(owner, Ct);
        var session = await StartAsync(owner, project.Id);

        var post = await stranger.PostAsync($"api/projects/{project.Id}/session", null, Ct);
        var get = await stranger.GetAsync($"api/projects/{project.Id}/session", Ct);
        var delete = await stranger.DeleteAsync($"api/projects/{project.Id}/session", Ct);

        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound], new[] { post.StatusCode, get.StatusCode, delete.StatusCode });
        var record = await Bed.Api.Service<SessionManager>().ReadAsync(session.Id);
        Assert.Equal(SessionStatus.Ready, record!.Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task SessionRoutes_NoToken_401()
    {
        using var anonymous = Bed.Api.Client(null);

        var response = await anonymous.PostAsync($"api/projects/{Guid.NewGuid():D}/session", null, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact(Timeout = 180_000)]
    public async Task Start_PodKilled_NextStartMakesANewSessionWithTheLastSyncedFiles()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var first = await StartAsync(client, project.Id);
        await File.WriteAllTextAsync(Path.Combine(Bed.Workspace(first.Id), "src", "synced.txt"), "synced", Ct);
        await Bed.Api.Service<SessionManager>().ReadAsync(first.Id);
        await CheckpointAsync(project.Id, first.Id);
        await File.WriteAllTextAsync(Path.Combine(Bed.Workspace(first.Id), "src", "unsynced.txt"), "lost", Ct);

        await Bed.KillPodAsync(first.Id, Ct);
        var second = await StartAsync(client, project.Id);

        Assert.NotEqual(first.Id, second.Id);
        Assert.DoesNotContain(first.Id, Bed.PodFolders());
        Assert.Equal("synced", await File.ReadAllTextAsync(Path.Combine(Bed.Workspace(second.Id), "src", "synced.txt"), Ct));
        Assert.False(File.Exists(Path.Combine(Bed.Workspace(second.Id), "src", "unsynced.txt")));
    }

    private async Task CheckpointAsync(string projectId, string sessionId)
    {
        var job = new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Sync, projectId, sessionId, SyncReasons.Checkpoint);
        var result = await Bed.Api.Service<SyncJobs>().RunAsync(job, TimeSpan.FromSeconds(60), Ct);
        Assert.Equal(SyncEvent.Done, result.Status);
    }

    [Fact(Timeout = 180_000)]
    public async Task Restore_DuringASession_UnsavedWorkBecomesAVersionThenThePodHoldsTheRestoredTree()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var session = await StartAsync(client, project.Id);
        var unsaved = Path.Combine(Bed.Workspace(session.Id), "src", "unsaved.txt");
        await File.WriteAllTextAsync(unsaved, "work in progress", Ct);

        var response = await client.PostAsync($"api/projects/{project.Id}/snapshots/{project.HeadSnapshotId}/restore", null, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var history = (await client.GetFromJsonAsync<JsonObject>($"api/projects/{project.Id}/snapshots", Ct))!["items"]!.AsArray();
        var saved = history.Select(e => (string)e!["id"]!).First(id => id != project.HeadSnapshotId);
        Assert.Equal("work in progress", await client.GetStringAsync($"api/projects/{project.Id}/files/src/unsaved.txt?snapshot={saved}", Ct));
        Assert.Equal(project.HeadSnapshotId, (string)history[0]!["id"]!);
        Assert.False(File.Exists(unsaved), "the pod should hold the restored tree");
    }

    [Fact(Timeout = 180_000)]
    public async Task Restore_DuringAChatTurn_409AndNothingChanges()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var session = await StartAsync(client, project.Id);
        await File.WriteAllTextAsync(Path.Combine(Bed.Workspace(session.Id), "src", "agent-edit.txt"), "mid-turn", Ct);
        await Bed.Redis.Db.StringSetAsync(StoryDream.Api.Chat.ChatTurns.LockKey(project.Id), "a-turn", TimeSpan.FromMinutes(1));
        try
        {
            var response = await client.PostAsync($"api/projects/{project.Id}/snapshots/{project.HeadSnapshotId}/restore", null, Ct);

            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("a-turn", (string?)await Bed.Redis.Db.StringGetAsync(StoryDream.Api.Chat.ChatTurns.LockKey(project.Id)));
            Assert.True(File.Exists(Path.Combine(Bed.Workspace(session.Id), "src", "agent-edit.txt")));
            var history = (await client.GetFromJsonAsync<JsonObject>($"api/projects/{project.Id}/snapshots", Ct))!["items"]!.AsArray();
            Assert.Single(history);
        }
        finally
        {
            await Bed.Redis.Db.KeyDeleteAsync(StoryDream.Api.Chat.ChatTurns.LockKey(project.Id));
        }
    }

    private static async Task<SessionResponse> StartAsync(HttpClient client, string projectId)
    {
        var response = await client.PostAsync($"api/projects/{projectId}/session", null, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<SessionResponse>(Ct))!;
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, int timeoutSeconds = 60)
    {
        var deadline = Stopwatch.GetTimestamp();
        while (!await condition())
        {
            if (Stopwatch.GetElapsedTime(deadline) > TimeSpan.FromSeconds(timeoutSeconds)) { throw new TimeoutException("The condition never held."); }
            await Task.Delay(50, Ct);
        }
    }

    private sealed record FileEntry(string Path, long Size, string Sha256);
}
