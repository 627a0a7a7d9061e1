using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary>
/// The real app host on Aspire, end to end: the README's scripted walk through the gateway (eng/walk.mjs), and the stack
/// stopping with nothing left behind, session pods included.
/// </summary>
public sealed class WalkAndDashboardTests
{
    [Fact]
    public async Task RunningStack_ScriptedWalkThenStop_WalkWorksAndNoProcessIsLeft()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        IReadOnlyList<StackProcess> processes;
        await using (var stack = await RunningStack.StartAsync(cancellationToken))
        {
            var (exitCode, output) = await WalkAsync(stack, cancellationToken);
            Assert.True(exitCode == 0, $"eng/walk.mjs exited with {exitCode}:\n{output}");
            foreach (var step in new[] { "create project", "start session", "chat one turn", "the edit is in the snapshot", "fetch the preview", "stop session" })
            {
                Assert.Contains($"walk: {step}", output, StringComparison.Ordinal);
            }

            // A session left running: stopping the stack must stop its pod too.
            var pod = await StartSessionAsync(stack, cancellationToken);
            processes = StackProcess.Of(stack.App);
            Assert.Contains(processes, p => p.Pid == pod);
            Assert.Contains(processes, p => p.Command.StartsWith("redis-server", StringComparison.Ordinal));
            Assert.Contains(processes, p => p.Command.Contains("java", StringComparison.Ordinal));
            Assert.Contains(processes, p => p.Command.Contains("/dcp", StringComparison.Ordinal));
        }

        var deadline = Stopwatch.StartNew();
        while (processes.Any(p => p.IsAlive) && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(200, cancellationToken);
        }
        Assert.Empty(processes.Where(p => p.IsAlive).Select(p => $"{p.Pid} {p.Command}"));
    }

    /// <summary>Starts a project's session through the gateway and returns its pod's pid, from the API's state file.</summary>
    internal static Task<int> StartSessionAsync(RunningStack stack, CancellationToken cancellationToken) =>
        StartSessionAsync(stack.GatewayUrl, stack.DevToken, stack.DevDirectory, cancellationToken);

    internal static async Task<int> StartSessionAsync(string gatewayUrl, string devToken, string devDirectory, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(gatewayUrl), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", devToken);
        using var created = await http.PostAsJsonAsync("/api/projects", new { name = "Left running" }, cancellationToken);
        created.EnsureSuccessStatusCode();
        var project = (await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetString();
        using var started = await http.PostAsync(new Uri($"/api/projects/{project}/session", UriKind.Relative), null, cancellationToken);
        started.EnsureSuccessStatusCode();
        var session = (await started.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetString()!;
        var statePath = Path.Combine(devDirectory, "sessions", session, "state.json");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (File.Exists(statePath)
                && JsonSerializer.Deserialize<JsonElement>(await File.ReadAllTextAsync(statePath, cancellationToken)) is { } state
                && state.TryGetProperty("Endpoints", out var endpoints) && endpoints.ValueKind == JsonValueKind.Object)
            {
                return state.GetProperty("Pid").GetInt32();
            }
            await Task.Delay(200, cancellationToken);
        }
        throw new Xunit.Sdk.XunitException($"Session {session} did not become ready within 60 s.");
    }

    internal static async Task<(int ExitCode, string Output)> WalkAsync(RunningStack stack, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "eng", "walk.mjs"));
        info.ArgumentList.Add(stack.GatewayUrl);
        info.Environment["STORYDREAM_DEV_DIRECTORY"] = stack.DevDirectory;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after 5 minutes\n{await stdout}{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
