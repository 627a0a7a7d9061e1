using System.Diagnostics;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary><c>eng/run.sh</c> as a person runs it, without its set-up and build (the test run built everything).</summary>
internal static class RunScript
{
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        // A process group of its own, as a terminal gives a command: Ctrl+C signals the whole group. SIGINT at its default,
        // as in a terminal, even when the test run itself was started in the background (which ignores SIGINT, and a
        // shell that starts with SIGINT ignored cannot trap it).
        var info = ProcessGroup.StartInfo("env", ["--default-signal=INT", "bash", Path.Combine(RepositoryPaths.Root, "eng", "run.sh"), .. arguments]);
        info.WorkingDirectory = RepositoryPaths.Root;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.Environment["STORYDREAM_RUN_NO_BUILD"] = "1";
        // As in RunningStack: no warm render pod (a chromium starting) beside every stack test on the test machine's two
        // cores. The API inherits it from the app host like the rest of its environment.
        info.Environment["Exports__WarmRenderPods"] = "0";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) { info.Environment[key] = value; }
        return info;
    }

    /// <summary>Runs to completion and returns the exit code with everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken, IDictionary<string, string>? environment = null)
    {
        using var process = Process.Start(StartInfo(arguments, environment))!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
