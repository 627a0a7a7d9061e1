using System.Diagnostics;
using System.Globalization;

namespace StoryDream.Sessions;

/// <summary>
/// A local session pod's process (Linux), known by its pid and its start time, so a pid reused by another program is never
/// taken for the pod. Each pod leads its own process group, which holds whatever the pod started. Used by the API's local
/// session runtime, which starts and stops pods, and by the app host, which stops the pods of its run when it stops.
/// </summary>
public static class LocalPodProcess
{
    /// <summary>Field 22 of <c>/proc/PID/stat</c>: the start time in clock ticks since boot; 0 when the process is gone.</summary>
    public static long StartTicks(int pid) => ReadStat(pid)?.StartTicks ?? 0;

    /// <summary>Alive and still the same process: not a stranger that reused the pid, and not a zombie nobody reaped yet.</summary>
    public static bool IsAlive(int pid, long startTicks) =>
        ReadStat(pid) is { } stat && stat.StartTicks == startTicks && stat.State is not ('Z' or 'X');

    /// <summary>SIGTERM to the pod's group, up to <paramref name="grace"/> to exit, then SIGKILL to what is left of it.</summary>
    public static async Task StopAsync(int pid, long startTicks, TimeSpan grace)
    {
        if (!IsAlive(pid, startTicks)) { return; }
        // A pod started before pods led their own group is signalled alone.
        var target = -pid;
        if (!Signal(target, "TERM"))
        {
            target = pid;
            Signal(target, "TERM");
        }
        var started = Stopwatch.GetTimestamp();
        while (IsAlive(pid, startTicks) && Stopwatch.GetElapsedTime(started) < grace)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
        // Whatever of the group is left (the pod past its grace, or a command it started that ignored SIGTERM); the group
        // id cannot be reused while any member lives, so this reaches nothing else.
        if (target < 0 || IsAlive(pid, startTicks)) { Signal(target, "KILL"); }
    }

    /// <summary>Fields 3 (state) and 22 (start time in clock ticks since boot) of <c>/proc/PID/stat</c>.</summary>
    private static (char State, long StartTicks)? ReadStat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], long.Parse(fields[19], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
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
}
