using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using StoryDream.Api.Chat;
using StoryDream.Api.Projects;
using StoryDream.Api.Sessions;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;
using StoryDream.Tests.SyncWorker;

namespace StoryDream.Tests.Api.Sessions;

/// <summary>A test bed whose API keeps a fake clock.</summary>
public sealed class FakeClockTestBedFixture(TestServers servers) : IAsyncLifetime
{
    private SessionTestBed? _bed;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public TestServers Servers => servers;

    public SessionTestBed Bed => _bed ?? throw new InvalidOperationException("Not initialized.");

    public async ValueTask InitializeAsync() =>
        _bed = await SessionTestBed.StartAsync(servers, null, Clock);

    public async ValueTask DisposeAsync()
    {
        if (_bed is not null) { await _bed.DisposeAsync(); }
    }
}

public sealed class SessionMaintenanceTests(FakeClockTestBedFixture fixture) : IClassFixture<FakeClockTestBedFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    private FakeTimeProvider Clock => fixture.Clock;

    [Fact(Timeout = 180_000)]
    public async Task Checkpoint_ActiveSessionAfterTwoMinutes_SnapshotsThePodAndIdleOnesAreLeftAlone()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (project, session) = await StartAsync(client);
        var head = project.HeadSnapshotId;
        await File.WriteAllTextAsync(Path.Combine(Bed.Workspace(session.Id), "src", "checkpointed.txt"), "saved by a checkpoint", Ct);
        Clock.Advance(TimeSpan.FromMinutes(1));
        await Bed.Api.Service<SessionManager>().TouchAsync(session.Id);

        Clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));

        await SessionsApiTests.WaitUntilAsync(async () => (await ProjectAsync(client, project.Id)).HeadSnapshotId != head);
        Assert.Equal("saved by a checkpoint", await client.GetStringAsync($"api/projects/{project.Id}/files/src/checkpointed.txt", Ct));
        var checkpointed = await Bed.Redis.Db.HashGetAsync(RedisKeys.Session(session.Id), SessionMaintenance.LastCheckpointField);
        Assert.Equal(Clock.GetUtcNow().ToUnixTimeMilliseconds(), (long)checkpointed);

        // Nothing happened since: the next interval passes without another checkpoint.
        Clock.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        var result = await PassAsync();
        Assert.DoesNotContain(session.Id, result.Checkpointed);
        Assert.Equal((long)checkpointed, (long)await Bed.Redis.Db.HashGetAsync(RedisKeys.Session(session.Id), SessionMaintenance.LastCheckpointField));
    }

    [Fact(Timeout = 180_000)]
    public async Task IdleReaper_ThirtyMinutesWithoutActivity_FinalSyncThenThePodIsGone()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (project, session) = await StartAsync(client);
        await File.WriteAllTextAsync(Path.Combine(Bed.Workspace(session.Id), "src", "idle.txt"), "saved at teardown", Ct);
        // The gateway's touch counts as activity: 29 minutes after it, the session is still there.
        Clock.Advance(TimeSpan.FromMinutes(20));
        await Bed.Redis.Db.HashSetAsync(RedisKeys.Session(session.Id), "lastActivity", Clock.GetUtcNow().ToUnixTimeMilliseconds());
        Clock.Advance(TimeSpan.FromMinutes(29));
        var early = await PassAsync();
        Assert.DoesNotContain(session.Id, early.Stopped);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"api/projects/{project.Id}/session", Ct)).StatusCode);

        Clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));

        await SessionsApiTests.WaitUntilAsync(async () => (await client.GetAsync($"api/projects/{project.Id}/session", Ct)).StatusCode == HttpStatusCode.NotFound);
        Assert.DoesNotContain(session.Id, Bed.PodFolders());
        Assert.Equal("saved at teardown", await client.GetStringAsync($"api/projects/{project.Id}/files/src/idle.txt", Ct));
    }

    [Fact(Timeout = 180_000)]
    public async Task Stop_FinalSyncFails_SessionAndPodKeptAndStopThrows()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (project, session) = await StartAsync(client);
        // A root replaced by a symlink makes the pod refuse its manifest, so every sync of it fails.
        var src = Path.Combine(Bed.Workspace(session.Id), "src");
        Directory.Move(src, src + "-moved");
        File.CreateSymbolicLink(src, src + "-moved");
        var sessions = Bed.Api.Service<SessionManager>();
        var record = (await sessions.ReadAsync(session.Id))!;

        Assert.True(await sessions.TryBeginStopAsync(session.Id));
        Assert.False(await sessions.TryBeginStopAsync(session.Id));
        await Assert.ThrowsAsync<SessionStopException>(() => sessions.StopAsync(record, Ct));

        Assert.Equal(SessionStatus.Ready, (await sessions.ReadAsync(session.Id))!.Status);
        Assert.True(await Bed.Runtime().IsAliveAsync(session.Id, Ct));
        File.Delete(src);
        Directory.Move(src + "-moved", src);
        Assert.True(await sessions.TryBeginStopAsync(session.Id));
        Assert.NotNull(await sessions.StopAsync(record, Ct));
        Assert.Null(await sessions.GetAsync(project.Id));
    }

    [Fact(Timeout = 120_000)]
    public async Task Maintenance_TwoReplicas_OnlyTheLeaseHolderWorks()
    {
        var second = Bed.Replicas.Count > 1 ? Bed.Replicas[1] : await Bed.AddApiAsync(fixture.Servers, Clock);
        await Bed.Redis.Db.KeyDeleteAsync(SessionMaintenance.LeaseKey);
        try
        {
            var first = await Bed.Api.Service<SessionMaintenance>().RunOnceAsync(Ct);
            var other = await second.Service<SessionMaintenance>().RunOnceAsync(Ct);
            var again = await Bed.Api.Service<SessionMaintenance>().RunOnceAsync(Ct);

            Assert.True(first.HeldLease);
            Assert.False(other.HeldLease);
            Assert.True(again.HeldLease);
            await Bed.Redis.Db.KeyDeleteAsync(SessionMaintenance.LeaseKey);
            Assert.True((await second.Service<SessionMaintenance>().RunOnceAsync(Ct)).HeldLease);
            Assert.False((await Bed.Api.Service<SessionMaintenance>().RunOnceAsync(Ct)).HeldLease);
        }
        finally
        {
            await Bed.Redis.Db.KeyDeleteAsync(SessionMaintenance.LeaseKey);
        }
    }

    [Fact(Timeout = 180_000)]
    public async Task IdleReaper_DeadPodAmongTwentyLiveOnes_EveryOneEndsAndTheDeadOneWithoutASync()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var inFlight = 0;
        var maxInFlight = 0;
        var manifests = 0;
        // Every live pod's manifest hangs until the test lets go: final syncs that ran inside the pass would hold it.
        var letGo = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task Manifest(HttpContext context)
        {
            InterlockedMax(ref maxInFlight, Interlocked.Increment(ref inFlight));
            Interlocked.Increment(ref manifests);
            await letGo.Task;
            Interlocked.Decrement(ref inFlight);
            await context.Response.WriteAsync("{\"files\":[]}", CancellationToken.None);
        }
        // One fake pod per session: the worker checks that the pod at a session's address proves that session.
        var pods = new List<FakePod>();
        await using var disposePods = new AsyncDisposables(pods);
        var live = new List<(string ProjectId, string SessionId)>();
        for (var i = 0; i < 20; i++)
        {
            var pod = await FakePod.StartAsync(Manifest);
            pods.Add(pod);
            live.Add(await SeedIdleSessionAsync(client, "kubernetes", pod.FilesUrl, pod.SessionId, pod.PodSecret));
        }
        // A local-runtime session with no process behind it: its pod is dead, and its file API address leads nowhere.
        var dead = await SeedIdleSessionAsync(client, Bed.Api.Service<SessionManager>().RuntimeName, new Uri("http://127.0.0.1:9/"));

        var result = await PassAsync().WaitAsync(TimeSpan.FromSeconds(60), Ct);
        await SessionsApiTests.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref inFlight) == 4));
        letGo.SetResult();
        await StopsInProgressAsync();

        Assert.Equal(21, result.Stopped.Count);
        foreach (var (projectId, sessionId) in live.Append(dead))
        {
            Assert.False(await Bed.Redis.Db.KeyExistsAsync(RedisKeys.Session(sessionId)), $"session {sessionId} should have ended");
            Assert.False(await Bed.Redis.Db.KeyExistsAsync(RedisKeys.ActiveSession(projectId)));
        }
        Assert.Equal(20, manifests);
        Assert.InRange(maxInFlight, 1, 4);
    }

    [Fact(Timeout = 180_000)]
    public async Task IdleReaper_PodWhoseSyncKeepsFailing_EndedAfterTheFifthFailure()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (project, session) = await StartAsync(client);
        var (projectId, sessionId) = (project.Id, session.Id);
        // A root replaced by a symlink makes the live pod refuse its manifest, so every final sync of it fails.
        var src = Path.Combine(Bed.Workspace(sessionId), "src");
        Directory.Move(src, src + "-moved");
        File.CreateSymbolicLink(src, src + "-moved");
        await Bed.Redis.Db.HashSetAsync(RedisKeys.Session(sessionId), "lastActivity", (Clock.GetUtcNow() - TimeSpan.FromMinutes(31)).ToUnixTimeMilliseconds());

        for (var pass = 1; pass <= 4; pass++)
        {
            Assert.Contains(sessionId, (await PassAsync()).Stopped);
            await StopsInProgressAsync();
            var record = await Bed.Api.Service<SessionManager>().ReadAsync(sessionId);
            Assert.Equal(SessionStatus.Ready, record?.Status);
            Assert.Equal(pass, (long)await Bed.Redis.Db.HashGetAsync(RedisKeys.Session(sessionId), SessionMaintenance.StopFailuresField));
        }
        Assert.Contains(sessionId, (await PassAsync()).Stopped);
        await StopsInProgressAsync();

        Assert.False(await Bed.Redis.Db.KeyExistsAsync(RedisKeys.Session(sessionId)));
        Assert.False(await Bed.Redis.Db.KeyExistsAsync(RedisKeys.ActiveSession(projectId)));
        Assert.DoesNotContain(sessionId, Bed.PodFolders());
    }

    [Fact(Timeout = 180_000)]
    public async Task IdleReaper_ChatTurnRunsAtTheIdleBoundary_SessionKeptUntilTheTurnEnds()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var (project, session) = await StartAsync(client);
        await Bed.Redis.Db.HashSetAsync(RedisKeys.Session(session.Id), "lastActivity", (Clock.GetUtcNow() - TimeSpan.FromMinutes(31)).ToUnixTimeMilliseconds());
        // A turn took the project's lock after the pass read the session as idle (the turn's touch comes later).
        await Bed.Redis.Db.StringSetAsync(ChatTurns.LockKey(project.Id), "a-turn", TimeSpan.FromMinutes(1));

        await PassAsync();
        await StopsInProgressAsync();
        Assert.Equal(SessionStatus.Ready, (await Bed.Api.Service<SessionManager>().ReadAsync(session.Id))?.Status);

        await Bed.Redis.Db.KeyDeleteAsync(ChatTurns.LockKey(project.Id));
        await PassAsync();
        await StopsInProgressAsync();
        Assert.Null(await Bed.Api.Service<SessionManager>().ReadAsync(session.Id));
    }

    /// <summary>
    /// A ready session of a new project, idle past the timeout, written the way a start leaves it, for a pod at
    /// <paramref name="filesUrl"/>. Records of another runtime are taken at their word that the pod is alive.
    /// </summary>
    private async Task<(string ProjectId, string SessionId)> SeedIdleSessionAsync(
        HttpClient client, string runtime, Uri filesUrl, string? sessionId = null, string? podSecret = null)
    {
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        sessionId ??= Guid.NewGuid().ToString("D");
        var idleSince = Clock.GetUtcNow() - TimeSpan.FromMinutes(31);
        var record = new SessionRecord(sessionId, project.Id, "owner", SessionStatus.Ready, runtime, filesUrl, filesUrl, filesUrl, idleSince, idleSince, podSecret);
        await Bed.Redis.Db.HashSetAsync(RedisKeys.Session(sessionId), record.ToHashEntries());
        await Bed.Redis.Db.StringSetAsync(RedisKeys.ActiveSession(project.Id), sessionId);
        return (project.Id, sessionId);
    }

    private sealed class AsyncDisposables(IEnumerable<IAsyncDisposable> items) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var item in items) { await item.DisposeAsync(); }
        }
    }

    private Task StopsInProgressAsync() =>
        Task.WhenAll(Bed.Replicas.Select(r => r.Service<SessionMaintenance>().StopsInProgressAsync())).WaitAsync(TimeSpan.FromSeconds(120), Ct);

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current) { current = seen; }
    }

    /// <summary>A pass by whichever replica holds the lease now.</summary>
    private async Task<MaintenanceResult> PassAsync()
    {
        foreach (var replica in Bed.Replicas)
        {
            if (await replica.Service<SessionMaintenance>().RunOnceAsync(Ct) is { HeldLease: true } result) { return result; }
        }
        throw new InvalidOperationException("No replica holds the maintenance lease.");
    }

    private static async Task<(ProjectResponse Project, SessionResponse Session)> StartAsync(HttpClient client)
    {
        var created = await client.PostAsJsonAsync("api/projects", new { name = "Maintenance" }, Ct);
        created.EnsureSuccessStatusCode();
        var project = (await created.Content.ReadFromJsonAsync<ProjectResponse>(Ct))!;
        var response = await client.PostAsync($"api/projects/{project.Id}/session", null, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (project, (await response.Content.ReadFromJsonAsync<SessionResponse>(Ct))!);
    }

    private static async Task<ProjectResponse> ProjectAsync(HttpClient client, string projectId) =>
        (await client.GetFromJsonAsync<ProjectResponse>($"api/projects/{projectId}", Ct))!;
}
