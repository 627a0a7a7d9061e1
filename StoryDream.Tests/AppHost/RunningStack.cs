using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using StoryDream.AppHost.Orchestration;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary>The app host started as a process on free ports, healthy; disposing it sends SIGTERM.</summary>
internal sealed class RunningStack : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _devDirectory;
    private readonly string _marker;

    private RunningStack(Process process, DirectoryInfo devDirectory, string marker, int gatewayPort, int dashboardPort)
    {
        _process = process;
        _devDirectory = devDirectory;
        _marker = marker;
        GatewayUrl = $"http://localhost:{gatewayPort}";
        DashboardUrl = $"http://127.0.0.1:{dashboardPort}";
    }

    public string GatewayUrl { get; }

    public string DashboardUrl { get; }

    /// <summary>The app host's <c>.dev</c> folder (signing key, dev token) for this run.</summary>
    public string DevDirectory => _devDirectory.FullName;

    public static async Task<RunningStack> StartAsync(CancellationToken cancellationToken)
    {
        var marker = Guid.NewGuid().ToString("N");
        var devDirectory = Directory.CreateTempSubdirectory("storydream-dev-");
        var (gatewayPort, dashboardPort) = (LauncherProcess.FreePort(), LauncherProcess.FreePort());
        var process = Process.Start(AppHostProcess.StartInfo(
            ["--no-setup", "--gateway-port", $"{gatewayPort}", "--dashboard-port", $"{dashboardPort}"],
            new Dictionary<string, string> { ["STORYDREAM_TEST_MARKER"] = marker, ["STORYDREAM_DEV_DIRECTORY"] = devDirectory.FullName }))!;
        var stack = new RunningStack(process, devDirectory, marker, gatewayPort, dashboardPort);
        var output = new List<string>();
        var healthy = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { return; }
            lock (output) { output.Add(e.Data); }
            if (e.Data.Contains("resources are healthy", StringComparison.Ordinal)) { healthy.TrySetResult(); }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Task.WhenAny(healthy.Task, process.WaitForExitAsync(cancellationToken)).WaitAsync(TimeSpan.FromSeconds(180), cancellationToken);
            if (!healthy.Task.IsCompleted) { throw new InvalidOperationException($"The app host did not become healthy:\n{string.Join('\n', output)}"); }
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    public async Task<string> UrlOfAsync(string resource, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var resources = await http.GetFromJsonAsync<JsonElement[]>(new Uri($"{DashboardUrl}/api/resources"), cancellationToken);
        return resources!.Single(r => r.GetProperty("name").GetString() == resource).GetProperty("url").GetString()!;
    }

    /// <summary>The process id of a running resource, as the dashboard reports it.</summary>
    public async Task<int> PidOfAsync(string resource, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var resources = await http.GetFromJsonAsync<JsonElement[]>(new Uri($"{DashboardUrl}/api/resources"), cancellationToken);
        return resources!.Single(r => r.GetProperty("name").GetString() == resource).GetProperty("pid").GetInt32();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            ProcessTree.Signal(_process.Id, ProcessTree.SigTerm);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            try { await _process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        foreach (var pid in ProcessTree.WithEnvironment("STORYDREAM_TEST_MARKER", _marker)) { ProcessTree.Signal(pid, ProcessTree.SigKill); }
        _process.Dispose();
        _devDirectory.Delete(recursive: true);
    }
}
