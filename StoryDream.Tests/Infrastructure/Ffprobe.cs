using System.Diagnostics;
using System.Text.Json;

namespace StoryDream.Tests.Infrastructure;

/// <summary>The ffprobe Remotion's compositor package ships (the render pod's own), so the tests need no system ffmpeg.</summary>
internal static class Ffprobe
{
    private static readonly string CompositorDir = Path.Combine(RepositoryPaths.Root, "session-pod", "render", "node_modules", "@remotion", "compositor-linux-x64-gnu");

    /// <summary>ffprobe's JSON about <paramref name="file"/>'s first video stream; <paramref name="arguments"/> choose what it reads.</summary>
    public static async Task<JsonDocument> ProbeAsync(string file, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(Path.Combine(CompositorDir, "ffprobe"), ["-v", "error", "-select_streams", "v:0", .. arguments, "-of", "json", file])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.Environment["LD_LIBRARY_PATH"] = CompositorDir;
        using var probe = Process.Start(info)!;
        var output = await probe.StandardOutput.ReadToEndAsync(cancellationToken);
        await probe.WaitForExitAsync(cancellationToken);
        if (probe.ExitCode != 0) { throw new InvalidOperationException($"ffprobe exited with {probe.ExitCode} on {file}."); }
        return JsonDocument.Parse(output);
    }
}
