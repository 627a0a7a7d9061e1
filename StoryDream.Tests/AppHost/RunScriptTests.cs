using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StoryDream.AppHost;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary>
/// <c>bash eng/run.sh</c> as a person runs it: it says where everything is once healthy, and Ctrl+C or SIGTERM stops
/// everything it started, session pods included. The machine is shared, so only processes carrying this run's marker in
/// their environment (and their children) are counted.
/// </summary>
public sealed class RunScriptTests
{
    private const string MarkerVariable = "STORYDREAM_TEST_MARK";

    [Theory]
    [InlineData("INT", true)]   // Ctrl+C: the terminal signals the whole foreground process group.
    [InlineData("TERM", false)] // SIGTERM to the script alone, as a supervisor sends it.
    public async Task RunScript_SignalledWhileRunning_PrintsWhereThingsAreThenLeavesNoProcess(string signal, bool toGroup)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var marker = Guid.NewGuid().ToString("N");
        var devDirectory = Directory.CreateTempSubdirectory("storydream-dev-");
        var gatewayPort = LauncherProcess.FreePort();
        var dashboardPort = FreePortTrio();
        var environment = new Dictionary<string, string>
        {
            [MarkerVariable] = marker,
            [AppHostSettings.DevDirectoryVariable] = devDirectory.FullName,
        };
        var output = new StringBuilder();
        using var script = Process.Start(RunScript.StartInfo(["--gateway-port", $"{gatewayPort}", "--dashboard-port", $"{dashboardPort}"], environment))!;
        try
        {
            script.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            script.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            script.BeginOutputReadLine();
            script.BeginErrorReadLine();
            var report = await WaitForAsync(script, output, RunReport.StopLine, TimeSpan.FromMinutes(3), cancellationToken);
            Assert.Contains($"{RunReport.ReadyLine}: all 6 resources are healthy", report, StringComparison.Ordinal);
            Assert.Matches($@"Dashboard: http://localhost:{dashboardPort}/login\?t=[0-9a-f]+", report);
            Assert.Contains($"Gateway:   http://localhost:{gatewayPort}", report, StringComparison.Ordinal);
            Assert.Matches("export TOKEN='[^']+'", report);

            var token = (await File.ReadAllTextAsync(Path.Combine(devDirectory.FullName, "dev-token"), cancellationToken)).Trim();
            var pod = await WalkAndDashboardTests.StartSessionAsync($"http://localhost:{gatewayPort}", token, devDirectory.FullName, cancellationToken);
            var processes = StackProcess.Marked(MarkerVariable, marker);
            Assert.Contains(processes, p => p.Pid == pod);
            Assert.Contains(processes, p => p.Command.StartsWith("redis-server", StringComparison.Ordinal));
            Assert.Contains(processes, p => p.Command.Contains("java", StringComparison.Ordinal));
            Assert.Contains(processes, p => p.Command.Contains("/dcp", StringComparison.Ordinal));
            Assert.Contains(processes, p => p.Command.Contains("Aspire.Dashboard", StringComparison.Ordinal));

            if (toGroup) { ProcessGroup.Signal(script.Id, signal); } else { ProcessGroup.SignalProcess(script.Id, signal); }
            using (var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                stop.CancelAfter(TimeSpan.FromSeconds(90));
                try
                {
                    await script.WaitForExitAsync(stop.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    string text;
                    lock (output) { text = output.ToString(); }
                    var left = StackProcess.Marked(MarkerVariable, marker).Select(p => $"{p.Pid} {p.Command}");
                    Assert.Fail($"eng/run.sh did not exit within 90 s of SIG{signal}. Still running:\n{string.Join('\n', left)}\nIts output:\n{text}");
                }
            }

            // The script returns once DCP is gone; what DCP stopped may take a moment to be reaped.
            var deadline = Stopwatch.StartNew();
            while ((processes.Any(p => p.IsAlive) || StackProcess.Marked(MarkerVariable, marker).Count > 0) && deadline.Elapsed < TimeSpan.FromSeconds(15))
            {
                await Task.Delay(200, cancellationToken);
            }
            Assert.Empty(processes.Where(p => p.IsAlive).Concat(StackProcess.Marked(MarkerVariable, marker)).Select(p => $"{p.Pid} {p.Command}").Distinct());
        }
        finally
        {
            if (!script.HasExited) { await ProcessGroup.StopAsync(script, TimeSpan.FromSeconds(30)); }
            await TempDirectories.DeleteAsync(devDirectory.FullName);
        }
    }

    /// <summary>Waits until <paramref name="line"/> is printed and returns the output so far; fails if the script exits first.</summary>
    private static async Task<string> WaitForAsync(Process script, StringBuilder output, string line, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            string text;
            lock (output) { text = output.ToString(); }
            if (text.Contains(line, StringComparison.Ordinal)) { return text; }
            Assert.False(script.HasExited, $"eng/run.sh exited with {(script.HasExited ? script.ExitCode : 0)} before '{line}':\n{text}");
            Assert.True(deadline.Elapsed < timeout, $"eng/run.sh did not print '{line}' within {timeout.TotalSeconds:0} s:\n{text}");
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>A free port whose next two are free too: the dashboard's UI, OTLP receiver and resource service take three in a row.</summary>
    private static int FreePortTrio()
    {
        while (true)
        {
            var port = LauncherProcess.FreePort();
            if (port > 65533) { continue; }
            if (IsFree(port + 1) && IsFree(port + 2)) { return port; }
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
