using System.Diagnostics;
using StoryDream.AppHost.Hosting;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary>The built app host, run as a separate process the way a person runs it.</summary>
internal static class AppHostProcess
{
    public static string AssemblyPath
    {
        get
        {
            var options = new AppHostOptions();
            return Path.Combine(RepositoryPaths.Root, "StoryDream.AppHost", "bin", options.Configuration, options.TargetFramework, "StoryDream.AppHost.dll");
        }
    }

    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(AssemblyPath);
        foreach (var argument in arguments) { info.ArgumentList.Add(argument); }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) { info.Environment[key] = value; }
        return info;
    }

    /// <summary>Runs to completion and returns the exit code with everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var process = Process.Start(StartInfo(arguments))!;
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
