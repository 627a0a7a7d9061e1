using Microsoft.Extensions.Logging.Abstractions;
using StoryDream.AppHost.Hosting;
using StoryDream.AppHost.Orchestration;

namespace StoryDream.Tests.AppHost;

/// <summary>The orchestrator over real processes (small bash programs), with short timings.</summary>
public sealed class OrchestratorTests
{
    private static readonly SupervisorTimings Fast = new()
    {
        FirstBackoff = TimeSpan.FromMilliseconds(100),
        MaxBackoff = TimeSpan.FromMilliseconds(400),
        HealthInterval = TimeSpan.FromMilliseconds(200),
        ReadyTimeout = TimeSpan.FromSeconds(20),
        StopGrace = TimeSpan.FromSeconds(5),
    };

    [Fact]
    public async Task Resource_Crashing_IsRestartedWithBackoff()
    {
        var builder = Builder();
        builder.AddExecutable("crasher", "bash", "/", "-c", "echo READY; echo \"run $$\"; sleep 0.2; exit 3");
        using var orchestrator = Orchestrator(builder);

        await orchestrator.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var crasher = orchestrator.Supervisors[0];
            await WaitUntilAsync(() => crasher.Restarts >= 3, TimeSpan.FromSeconds(20));
            Assert.Equal(3, crasher.Snapshot().ExitCode ?? 3);
            Assert.True(crasher.Log.After(0).Count(l => l.Text.StartsWith("run ", StringComparison.Ordinal)) >= 3);
        }
        finally
        {
            await orchestrator.StoppingAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task WaitFor_DependencySlow_DependentStartsOnlyAfterItIsHealthy()
    {
        var builder = Builder();
        var slow = builder.AddExecutable("slow", "bash", "/", "-c", "sleep 1.5; echo READY; exec sleep 300");
        builder.AddExecutable("dependent", "bash", "/", "-c", "echo READY; exec sleep 300").WaitFor(slow);
        using var orchestrator = Orchestrator(builder);

        await orchestrator.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var (slowSupervisor, dependent) = (orchestrator.Supervisors[0], orchestrator.Supervisors[1]);
            await Task.Delay(500, TestContext.Current.CancellationToken);
            Assert.Equal(ResourceState.Starting, slowSupervisor.State);
            Assert.Equal(ResourceState.Waiting, dependent.State);
            Assert.Null(dependent.Pid);

            await orchestrator.AllHealthy.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
            Assert.True(dependent.Snapshot().StartedAt >= slowSupervisor.Snapshot().StartedAt!.Value.AddSeconds(1.4));
        }
        finally
        {
            await orchestrator.StoppingAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Stopping_ResourceWithEscapedGrandchild_LeavesNoProcessBehind()
    {
        var marker = Guid.NewGuid().ToString("N");
        var builder = Builder();
        // The grandchild leaves the resource's process group (setsid) and ignores SIGTERM: only the marker finds it.
        builder.AddExecutable("parent", "bash", "/", "-c", "setsid bash -c 'trap \"\" TERM; sleep 300' & echo READY; exec sleep 300")
            .WithEnvironment("STORYDREAM_TEST_MARKER", marker);
        using var orchestrator = Orchestrator(builder);

        await orchestrator.StartAsync(TestContext.Current.CancellationToken);
        await orchestrator.AllHealthy.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => ProcessTree.WithEnvironment("STORYDREAM_TEST_MARKER", marker).Count >= 2, TimeSpan.FromSeconds(10));

        await orchestrator.StoppingAsync(CancellationToken.None);

        Assert.Empty(ProcessTree.WithEnvironment("STORYDREAM_TEST_MARKER", marker));
        Assert.Equal(ResourceState.Stopped, orchestrator.Supervisors[0].State);
    }

    private static DistributedApplicationBuilder Builder() => new(AppHostOptions.Parse([], _ => null));

    private static Orchestrator Orchestrator(DistributedApplicationBuilder builder) =>
        new(builder.Build().Resources, "http://127.0.0.1:9", Fast, new HttpClient(), TimeProvider.System, NullLogger<Orchestrator>.Instance);

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        while (!condition())
        {
            await Task.Delay(50, cts.Token);
        }
    }
}
