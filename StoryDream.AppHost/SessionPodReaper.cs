using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace StoryDream.AppHost;

/// <summary>
/// Session pods are the API's children, not the app host's: they outlive an API restart on purpose (the next API adopts
/// them), so stopping the API leaves them running. When the whole app host stops, this stops every pod of this run,
/// found through the state files the API's local session runtime keeps under the run's sessions folder.
/// </summary>
internal sealed partial class SessionPodReaper(AppHostSettings settings, ILogger<SessionPodReaper> logger) : IHostedService
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(settings.SessionsDirectory)) { return; }
        var pods = Directory.EnumerateFiles(settings.SessionsDirectory, "state.json", SearchOption.AllDirectories)
            .Select(ReadPod).OfType<Pod>().Where(IsAlive).ToList();
        foreach (var pod in pods)
        {
            LogStopping(logger, pod.SessionId, pod.Pid);
            // Each pod leads its own process group (LocalSessionRuntime): the group holds what the pod started.
            if (!Signal(-pod.Pid, "TERM")) { Signal(pod.Pid, "TERM"); }
        }
        var started = Stopwatch.GetTimestamp();
        while (pods.Any(IsAlive) && Stopwatch.GetElapsedTime(started) < StopGrace)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), CancellationToken.None);
        }
        foreach (var pod in pods)
        {
            // What is left of each group; a group id is not reused while any member lives.
            if (!Signal(-pod.Pid, "KILL") && IsAlive(pod)) { Signal(pod.Pid, "KILL"); }
        }
    }

    private static Pod? ReadPod(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Pod>(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // The same pid with the same start time (field 22 of /proc/PID/stat): never a stranger that reused the pid.
    private static bool IsAlive(Pod pod)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pod.Pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[0] is not ("Z" or "X") && long.Parse(fields[19], CultureInfo.InvariantCulture) == pod.StartTicks;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return false;
        }
    }

    /// <summary>Signals a process, or with a negative id a process group; false when there is no such process or group.</summary>
    private static bool Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", "--", pid.ToString(CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        });
        if (kill is null) { return false; }
        kill.WaitForExit();
        return kill.ExitCode == 0;
    }

    private sealed record Pod(string SessionId, int Pid, long StartTicks);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping session pod {SessionId} (process {Pid})")]
    private static partial void LogStopping(ILogger logger, string sessionId, int pid);
}
