using System.Globalization;
using System.Runtime.InteropServices;

namespace StoryDream.AppHost.Orchestration;

/// <summary>
/// Linux process plumbing: signals to process groups, and finding processes from <c>/proc</c>. Every process the
/// app host starts carries its instance marker in its environment, and so does everything those start (session
/// pods, an emulator's JVM), even after their parent died and they were re-parented to init: the marker is how
/// the app host finds what must not outlive it.
/// </summary>
internal static partial class ProcessTree
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <summary>Sends <paramref name="signal"/> to process group <paramref name="groupId"/>; false if it is gone.</summary>
    public static bool SignalGroup(int groupId, int signal) => Kill(-groupId, signal) == 0;

    public static bool Signal(int pid, int signal) => Kill(pid, signal) == 0;

    /// <summary>Live (non-zombie) processes whose environment holds <c>NAME=VALUE</c>.</summary>
    public static IReadOnlyList<int> WithEnvironment(string name, string value)
    {
        var entry = $"{name}={value}";
        var result = new List<int>();
        foreach (var (pid, state) in ReadAll())
        {
            if (state == 'Z' || pid == Environment.ProcessId) { continue; }
            string environ;
            try { environ = File.ReadAllText($"/proc/{pid}/environ"); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (environ.Split('\0').Contains(entry, StringComparer.Ordinal)) { result.Add(pid); }
        }
        return result;
    }

    private static IEnumerable<(int Pid, char State)> ReadAll()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) { continue; }
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            // "pid (comm) state ...": comm may hold spaces and parentheses, so read the state after the last ')'.
            var close = stat.LastIndexOf(')');
            if (close > 0 && close + 2 < stat.Length) { yield return (pid, stat[close + 2]); }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
