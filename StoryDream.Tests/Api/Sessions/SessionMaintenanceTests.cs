using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Time.Testing;
using StoryDream.Api.Projects;
using StoryDream.Api.Sessions;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Sessions;

/// <summary>A test bed whose API keeps a fake clock; the sync worker refuses files over 1 MiB, so a final sync can be made to fail.</summary>
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
