using System.Diagnostics;
using System.Text.Json;

namespace StoryDream.Tests.Infrastructure;

/// <summary>The ffprobe and ffmpeg Remotion's compositor package ships (the render pod's own), so the tests need no system ffmpeg.</summary>
internal static class Ffmpeg
{
    private static readonly string CompositorDir = Path.Combine(RepositoryPaths.Root, "session-pod", "render", "node_modules", "@remotion", "compositor-linux-x64-gnu");

    /// <summary>ffprobe's JSON about <paramref name="file"/>'s first video stream; <paramref name="arguments"/> choose what it reads.</summary>
    public static async Task<JsonDocument> ProbeAsync(string file, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var output = await RunAsync("ffprobe", ["-v", "error", "-select_streams", "v:0", .. arguments, "-of", "json", file], cancellationToken);
        return JsonDocument.Parse(output);
    }

    /// <summary>
    /// The colour (red, green, blue) of one pixel of the video's frame at <paramref name="at"/>. The compositor's ffmpeg
    /// has no rawvideo muxer: the raw frame goes out through image2pipe, after the conversion to RGB, as a 4:2:0 frame
    /// cannot be cropped to one pixel.
    /// </summary>
    public static async Task<(byte Red, byte Green, byte Blue)> PixelAsync(string file, TimeSpan at, int x, int y, CancellationToken cancellationToken)
    {
        var seconds = at.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
        var rgb = await RunAsync("ffmpeg",
            ["-v", "error", "-ss", seconds, "-i", file, "-frames:v", "1", "-vf", $"format=rgb24,crop=1:1:{x}:{y}", "-f", "image2pipe", "-c:v", "rawvideo", "-pix_fmt", "rgb24", "-"], cancellationToken);
        if (rgb.Length != 3) { throw new InvalidOperationException($"ffmpeg gave {rgb.Length} bytes for one pixel of {file}."); }
        return (rgb[0], rgb[1], rgb[2]);
    }

    private static async Task<byte[]> RunAsync(string tool, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(Path.Combine(CompositorDir, tool), arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.Environment["LD_LIBRARY_PATH"] = CompositorDir;
        using var process = Process.Start(info)!;
        using var output = new MemoryStream();
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardOutput.BaseStream.CopyToAsync(output, cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0) { throw new InvalidOperationException($"{tool} exited with {process.ExitCode}: {await errors}"); }
        return output.ToArray();
    }
}
