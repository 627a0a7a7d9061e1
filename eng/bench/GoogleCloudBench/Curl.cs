using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace GoogleCloudBench;

/// <summary>
/// The baseline: the same HTTP calls made by curl. A curl process per call would mostly measure process start-up,
/// so one curl process makes all of them from a <c>--config</c> file (entries joined by <c>next</c>), reusing one
/// kept-alive connection as HttpClient does, and reports each transfer's own <c>%{time_total}</c>.
/// </summary>
internal static class Curl
{
    public const string Method = "Baseline: curl, one process per batch running every request of the batch from a --config file (entries joined by `next`, one kept-alive connection, the first request of each batch, which opens it, dropped), each timed by curl's own %{time_total}.";

    public sealed record Request(string Method, string Url, IReadOnlyDictionary<string, string> Headers, string? BodyFile = null);

    public static Way Way(Request request) => new("curl", async count => (await TimeAsync(request, count + 1)).Skip(1).ToArray());

    /// <summary>Runs <paramref name="request"/> <paramref name="count"/> times in one curl process and returns each transfer's time.</summary>
    public static async Task<IReadOnlyList<TimeSpan>> TimeAsync(Request request, int count)
    {
        var config = Path.Combine(Path.GetTempPath(), $"googlecloud-bench-{Guid.NewGuid():N}.curlrc");
        var entry = new StringBuilder();
        entry.AppendLine(CultureInfo.InvariantCulture, $"url = \"{request.Url}\"");
        entry.AppendLine(CultureInfo.InvariantCulture, $"request = \"{request.Method}\"");
        foreach (var (name, value) in request.Headers)
        {
            entry.AppendLine(CultureInfo.InvariantCulture, $"header = \"{name}: {value}\"");
        }
        if (request.BodyFile is not null)
        {
            entry.AppendLine(CultureInfo.InvariantCulture, $"data-binary = \"@{request.BodyFile}\"");
        }
        entry.AppendLine("globoff");
        entry.AppendLine("silent");
        entry.AppendLine("show-error");
        entry.AppendLine("fail");
        entry.AppendLine("output = \"/dev/null\"");
        entry.AppendLine("write-out = \"%{time_total}\\n\"");
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                text.AppendLine("next");
            }
            text.Append(entry);
        }
        await File.WriteAllTextAsync(config, text.ToString());
        try
        {
            var info = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add("--config");
            info.ArgumentList.Add(config);
            using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start curl.");
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (process.ExitCode != 0 || lines.Length != count)
            {
                throw new InvalidOperationException($"curl exited with {process.ExitCode} after {lines.Length} of {count} requests: {await errors}");
            }
            return [.. lines.Select(line => TimeSpan.FromSeconds(double.Parse(line, CultureInfo.InvariantCulture)))];
        }
        finally
        {
            File.Delete(config);
        }
    }
}
