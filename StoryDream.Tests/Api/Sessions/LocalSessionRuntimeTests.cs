using System.Net;
using System.Net.Http.Json;
using System.Text;
using StoryDream.Api.Sessions;

namespace StoryDream.Tests.Api.Sessions;

public sealed class LocalSessionRuntimeTests(TestBedFixture fixture) : IClassFixture<TestBedFixture>
{
    // PWD and SHLVL are bash's own, set by the exec that starts the pod.
    private static readonly string[] AllowedVariables = ["PWD", "SHLVL", "PATH", "HOME", "LANG", "TMPDIR", "NODE_EXTRA_CA_CERTS", "WORKSPACE_DIR", "BIND_HOST", "FILES_PORT",
        "AGENT_PORT", "PREVIEW_PORT", "PREVIEW_BASE", "STORYDREAM_AGENT", "STORYDREAM_SESSION_ID", "STORYDREAM_POD_SECRET", "STORYDREAM_TEST_RUN"];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 120_000)]
    public async Task Create_Pod_ListensOnLoopbackWithItsOwnWorkspaceAndNoneOfTheApisSecrets()
    {
        var runtime = Bed.Runtime();
        var sessionId = Guid.NewGuid().ToString("D");
        Environment.SetEnvironmentVariable("STORYDREAM_TEST_SECRET", "must-not-leak");
        try
        {
            var endpoints = await runtime.CreateAsync(sessionId, Guid.NewGuid().ToString("D"), TestLaunch.For(sessionId), Ct);
            try
            {
                Assert.All(new[] { endpoints.AgentUrl, endpoints.FilesUrl, endpoints.PreviewUrl }, u => Assert.Equal("127.0.0.1", u.Host));
                using var http = new HttpClient();
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(endpoints.FilesUrl, "health"), Ct)).StatusCode);
                Assert.True(Directory.Exists(Path.Combine(Bed.Workspace(sessionId), "src")));
                var environment = Encoding.UTF8.GetString(await File.ReadAllBytesAsync($"/proc/{Bed.PodPid(sessionId)}/environ", Ct))
                    .Split('\0', StringSplitOptions.RemoveEmptyEntries).Select(v => v[..v.IndexOf('=', StringComparison.Ordinal)]).ToList();
                Assert.Empty(environment.Except(AllowedVariables));
                Assert.True(await runtime.IsAliveAsync(sessionId, Ct));
            }
            finally
            {
                await runtime.DeleteAsync(sessionId, Ct);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("STORYDREAM_TEST_SECRET", null);
        }
        Assert.False(await runtime.IsAliveAsync(sessionId, Ct));
        Assert.DoesNotContain(sessionId, Bed.PodFolders());
        await runtime.DeleteAsync(sessionId, Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Delete_PodThatStartedACommand_CommandStoppedWithIt()
    {
        // A stand-in pod (bash) that starts a long command, as the agent does, and dies on SIGTERM without stopping it.
        var folder = Directory.CreateTempSubdirectory("sd-group-pod-").FullName;
        try
        {
            var entry = Path.Combine(folder, "pod.sh");
            var childPidFile = Path.Combine(folder, "child.pid");
            await File.WriteAllTextAsync(entry, "sleep 300 & echo $! > \"$CHILD_PID_FILE\"; echo 'READY files=1 agent=2 preview=3'; wait\n", Ct);
            var runtime = new LocalSessionRuntime(Microsoft.Extensions.Options.Options.Create(new SessionOptions
            {
                Local = new LocalRuntimeOptions
                {
                    StateDirectory = Bed.StateDirectory,
                    NodePath = "bash",
                    PodEntry = entry,
                    Environment = { ["CHILD_PID_FILE"] = childPidFile },
                },
            }), Microsoft.Extensions.Logging.Abstractions.NullLogger<LocalSessionRuntime>.Instance);
            var sessionId = Guid.NewGuid().ToString("D");
            await runtime.CreateAsync(sessionId, Guid.NewGuid().ToString("D"), TestLaunch.For(sessionId), Ct);
            var child = int.Parse(await File.ReadAllTextAsync(childPidFile, Ct), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(Infrastructure.LauncherProcessTests.IsRunning(child));

            await runtime.DeleteAsync(sessionId, Ct);

            // SIGKILL lands when the kernel next schedules the process.
            for (var i = 0; i < 100 && Infrastructure.LauncherProcessTests.IsRunning(child); i++) { await Task.Delay(20, Ct); }
            Assert.False(Infrastructure.LauncherProcessTests.IsRunning(child));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Create_NoModelProxy_ScriptedAgentWithTheSessionsCredentialsAndNoKey()
    {
        var runtime = new LocalSessionRuntime(Microsoft.Extensions.Options.Options.Create(new SessionOptions
        {
            Local = new LocalRuntimeOptions { StateDirectory = Bed.StateDirectory },
        }), Microsoft.Extensions.Logging.Abstractions.NullLogger<LocalSessionRuntime>.Instance);
        var sessionId = Guid.NewGuid().ToString("D");

        var launch = TestLaunch.For(sessionId);
        await runtime.CreateAsync(sessionId, Guid.NewGuid().ToString("D"), launch, Ct);
        try
        {
            var environment = Encoding.UTF8.GetString(await File.ReadAllBytesAsync($"/proc/{Bed.PodPid(sessionId)}/environ", Ct)).Split('\0');
            Assert.Contains("STORYDREAM_AGENT=scripted", environment);
            Assert.Contains($"STORYDREAM_SESSION_ID={sessionId}", environment);
            Assert.Contains($"STORYDREAM_POD_SECRET={launch.PodSecret}", environment);
            Assert.DoesNotContain(environment, v => v.StartsWith("ANTHROPIC_", StringComparison.Ordinal));
        }
        finally
        {
            await runtime.DeleteAsync(sessionId, Ct);
        }
    }

    [Theory(Timeout = 30_000)]
    [InlineData("../escape")]
    [InlineData("not-a-uuid")]
    [InlineData("A1B2C3D4-0000-0000-0000-000000000000")]
    public async Task Runtime_SessionIdNotALowerCaseUuid_Refused(string sessionId)
    {
        var runtime = Bed.Runtime();

        await Assert.ThrowsAsync<ArgumentException>(() => runtime.CreateAsync(sessionId, "p", TestLaunch.For(sessionId), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => runtime.DeleteAsync(sessionId, Ct));
    }

    [Fact(Timeout = 240_000)]
    public async Task ApiRestart_LivePodsAdoptedDeadOnesReleased()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var survivor = await Bed.Api.CreateProjectAsync(client, Ct);
        var victim = await Bed.Api.CreateProjectAsync(client, Ct);
        var kept = await StartAsync(client, survivor.Id);
        var killed = await StartAsync(client, victim.Id);
        var keptPid = Bed.PodPid(kept.Id);

        await Bed.RemoveApiAsync(Bed.Api);
        await Bed.KillPodAsync(killed.Id, Ct);
        var restarted = await Bed.AddApiAsync(fixture.Servers);
        using var again = restarted.Client(null);
        again.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;

        var adopted = await again.GetFromJsonAsync<SessionResponse>($"api/projects/{survivor.Id}/session", Ct);
        Assert.Equal(kept.Id, adopted!.Id);
        Assert.Equal(keptPid, Bed.PodPid(kept.Id));
        Assert.Equal(kept.Id, (await StartAsync(again, survivor.Id)).Id);
        Assert.Equal(HttpStatusCode.NotFound, (await again.GetAsync($"api/projects/{victim.Id}/session", Ct)).StatusCode);
        Assert.DoesNotContain(killed.Id, Bed.PodFolders());
        Assert.Null(await restarted.Service<SessionManager>().ReadAsync(killed.Id));
    }

    [Fact(Timeout = 120_000)]
    public async Task ApiRestart_PodWithoutARecord_Deleted()
    {
        var runtime = Bed.Runtime();
        var orphan = Guid.NewGuid().ToString("D");
        await runtime.CreateAsync(orphan, Guid.NewGuid().ToString("D"), TestLaunch.For(orphan), Ct);

        await Bed.RemoveApiAsync(Bed.Api);
        await Bed.AddApiAsync(fixture.Servers);

        Assert.DoesNotContain(orphan, Bed.PodFolders());
        Assert.False(await runtime.IsAliveAsync(orphan, Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_PodExitsAtOnce_ThrowsWithThePodsReasonAndLeavesNothing()
    {
        var sessionId = Guid.NewGuid().ToString("D");
        // A pod that exits at once: the configuration error it prints must reach the caller.
        var broken = new LocalSessionRuntime(Microsoft.Extensions.Options.Options.Create(new SessionOptions
        {
            Local = new LocalRuntimeOptions { StateDirectory = Bed.StateDirectory, Environment = { ["STORYDREAM_AGENT"] = "nonsense" } },
        }), Microsoft.Extensions.Logging.Abstractions.NullLogger<LocalSessionRuntime>.Instance);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => broken.CreateAsync(sessionId, Guid.NewGuid().ToString("D"), TestLaunch.For(sessionId), Ct));

        Assert.Contains("STORYDREAM_AGENT", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(sessionId, Bed.PodFolders());
    }

    private static async Task<SessionResponse> StartAsync(HttpClient client, string projectId)
    {
        var response = await client.PostAsync($"api/projects/{projectId}/session", null, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<SessionResponse>(Ct))!;
    }
}
