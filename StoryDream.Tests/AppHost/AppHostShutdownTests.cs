using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using StoryDream.AppHost.Orchestration;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary>The whole local stack, started as a person starts it, then stopped with SIGTERM.</summary>
public sealed class AppHostShutdownTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task SigTerm_AfterAllHealthy_StopsEveryProcessAndClosesEveryPort()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var marker = Guid.NewGuid().ToString("N");
        var devDirectory = Directory.CreateTempSubdirectory("storydream-dev-");
        var (gatewayPort, dashboardPort) = (LauncherProcess.FreePort(), LauncherProcess.FreePort());
        var info = AppHostProcess.StartInfo(
            ["--no-setup", "--gateway-port", $"{gatewayPort}", "--dashboard-port", $"{dashboardPort}"],
            new Dictionary<string, string> { ["STORYDREAM_TEST_MARKER"] = marker, ["STORYDREAM_DEV_DIRECTORY"] = devDirectory.FullName });
        using var appHost = Process.Start(info)!;
        var output = new List<string>();
        var healthy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        appHost.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { return; }
            lock (output) { output.Add(e.Data); }
            // The last line of the ready message: the lines before it (URLs, token) are in the output by then.
            if (e.Data.StartsWith("Press Ctrl+C to stop everything.", StringComparison.Ordinal)) { healthy.TrySetResult(); }
        };
        appHost.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.Add(e.Data); } } };
        appHost.BeginOutputReadLine();
        appHost.BeginErrorReadLine();

        try
        {
            await Task.WhenAny(healthy.Task, appHost.WaitForExitAsync(cancellationToken)).WaitAsync(StartTimeout, cancellationToken);
            Assert.True(healthy.Task.IsCompleted, $"The app host did not become healthy:\n{Printed(output)}");
            Assert.Contains(output, l => l.StartsWith("All 6 resources are healthy", StringComparison.Ordinal));
            Assert.Contains(output, l => l.Contains($"Gateway:   http://localhost:{gatewayPort}", StringComparison.Ordinal));
            Assert.Contains(output, l => l.Contains("export TOKEN=", StringComparison.Ordinal));

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var resources = await http.GetFromJsonAsync<JsonElement[]>(new Uri($"http://127.0.0.1:{dashboardPort}/api/resources"), cancellationToken);
            Assert.NotNull(resources);
            Assert.All(resources, r => Assert.Equal("Running", r.GetProperty("state").GetString()));
            var ports = resources.Select(r => int.Parse(r.GetProperty("endpoint").GetString()!.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)).Append(dashboardPort).ToList();
            Assert.Contains(gatewayPort, ports);
            var running = ProcessTree.WithEnvironment("STORYDREAM_TEST_MARKER", marker);
            Assert.True(running.Count >= 6, $"Expected a process per resource, found {running.Count}.");

            ProcessTree.Signal(appHost.Id, ProcessTree.SigTerm);
            await appHost.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(90), cancellationToken);

            Assert.True(appHost.ExitCode == 0, $"Exit code {appHost.ExitCode}:\n{Printed(output)}");
            Assert.Empty(ProcessTree.WithEnvironment("STORYDREAM_TEST_MARKER", marker));
            foreach (var port in ports)
            {
                Assert.False(await AcceptsAsync(port, cancellationToken), $"Port {port} still accepts connections after shutdown.");
            }
        }
        finally
        {
            // Only if an assertion failed midway: never leave the stack running after the test.
            foreach (var pid in ProcessTree.WithEnvironment("STORYDREAM_TEST_MARKER", marker)) { ProcessTree.Signal(pid, ProcessTree.SigKill); }
            devDirectory.Delete(recursive: true);
        }
    }

    private static async Task<bool> AcceptsAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await client.ConnectAsync("127.0.0.1", port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static string Printed(List<string> output)
    {
        lock (output) { return string.Join('\n', output); }
    }
}
