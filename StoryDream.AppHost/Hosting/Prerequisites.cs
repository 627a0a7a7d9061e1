using System.Diagnostics;

namespace StoryDream.AppHost.Hosting;

/// <summary>The first-run check: runs <c>eng/setup.sh</c> if something is missing, or says exactly what is.</summary>
internal static class Prerequisites
{
    public static IReadOnlyList<string> Missing(IEnumerable<Resource> resources) =>
        [.. resources.SelectMany(r => r.Prerequisites).Select(check => check()).OfType<string>().Distinct()];

    public static async Task<bool> EnsureAsync(AppHostOptions options, IReadOnlyList<Resource> resources, TextWriter output, CancellationToken cancellationToken)
    {
        var missing = Missing(resources);
        if (missing.Count == 0) { return true; }

        var setup = Path.Combine(options.RepositoryRoot, "eng", "setup.sh");
        if (options.RunSetup && File.Exists(setup))
        {
            await output.WriteLineAsync($"First run: {missing.Count} prerequisite(s) missing; running eng/setup.sh.");
            using var process = Process.Start(new ProcessStartInfo("bash", [setup]) { WorkingDirectory = options.RepositoryRoot, UseShellExecute = false })!;
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0) { await output.WriteLineAsync($"eng/setup.sh failed with exit code {process.ExitCode}."); }
            missing = Missing(resources);
            if (missing.Count == 0) { return true; }
        }

        await output.WriteLineAsync("Cannot start: these are missing.");
        foreach (var item in missing) { await output.WriteLineAsync($"  - {item}"); }
        await output.WriteLineAsync(File.Exists(setup)
            ? "Run 'bash eng/setup.sh' (it installs all of them), then start again."
            : "Install them, then start again.");
        return false;
    }
}
