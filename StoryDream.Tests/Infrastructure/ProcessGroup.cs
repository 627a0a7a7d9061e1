using System.Diagnostics;
using System.Globalization;

namespace StoryDream.Tests.Infrastructure;

/// <summary>
/// Test processes run in a process group of their own and are stopped as a group: <c>npm start</c> and the launchers
/// under <c>eng/servers</c> leave their real server behind when only they are signalled (issue 15, item 8).
/// </summary>
internal static class ProcessGroup
{
    /// <summary>
    /// A start of <paramref name="fileName"/> through <c>setsid</c>, which execs it in place (a child of this process is
    /// never a group leader, so setsid does not fork): the pid is the program's and its group id.
    /// </summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("setsid") { UseShellExecute = false };
        info.ArgumentList.Add(fileName);
        foreach (var argument in arguments) { info.ArgumentList.Add(argument); }
        return info;
    }

    /// <summary>SIGTERM to the whole group, then SIGKILL to what is left of it after <paramref name="grace"/>; returns once the group is gone.</summary>
    public static async Task StopAsync(Process process, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(process);
        var group = process.Id;
        Signal(group, "TERM");
        var started = Stopwatch.GetTimestamp();
        while (HasMembers(group) || !process.HasExited)
        {
            if (Stopwatch.GetElapsedTime(started) > grace)
            {
                Signal(group, "KILL");
                await process.WaitForExitAsync();
                // SIGKILL lands when the kernel next schedules each member: wait until none is left.
                while (HasMembers(group)) { await Task.Delay(20); }
                return;
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Whether any live (not zombie) process is in group <paramref name="group"/>, read from <c>/proc/*/stat</c>.</summary>
    public static bool HasMembers(int group)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out _)) { continue; }
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] is not ("Z" or "X") && int.Parse(fields[2], CultureInfo.InvariantCulture) == group) { return true; }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited while we looked.
            }
        }
        return false;
    }

    /// <summary>Sends SIGsignal (<c>TERM</c>, <c>INT</c>, <c>KILL</c>) to every process of group <paramref name="group"/>.</summary>
    public static void Signal(int group, string signal) => Kill(signal, $"-{group.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>Sends SIGsignal to process <paramref name="pid"/> alone.</summary>
    public static void SignalProcess(int pid, string signal) => Kill(signal, pid.ToString(CultureInfo.InvariantCulture));

    private static void Kill(string signal, string target)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", "--", target])
        {
            UseShellExecute = false,
            RedirectStandardError = true,
        });
        kill?.WaitForExit();
    }
}
