using System.Globalization;
using System.Runtime.InteropServices;

namespace StoryDream.AppHost.Orchestration;

/// <summary>
/// Linux process plumbing: signals to process groups, the subreaper flag, and the app host's descendants read
/// from <c>/proc</c>. Everything the app host starts stays its descendant (it is a subreaper), so at shutdown
/// the descendants are exactly what must go: nothing started here may outlive the app host.
/// </summary>
internal static partial class ProcessTree
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    private const int PrSetChildSubreaper = 36;
    private const int WNoHang = 1;

    /// <summary>
    /// Orphans of our children (a session pod whose API crashed, the JVM of an emulator whose launcher died) are
    /// re-parented to the app host instead of init, so they are still found and stopped.
    /// </summary>
    public static void BecomeSubreaper()
    {
        if (OperatingSystem.IsLinux()) { _ = Prctl(PrSetChildSubreaper, 1, 0, 0, 0); }
    }

    /// <summary>Sends <paramref name="signal"/> to process group <paramref name="groupId"/>; false if it is gone.</summary>
    public static bool SignalGroup(int groupId, int signal) => Kill(-groupId, signal) == 0;

    public static bool Signal(int pid, int signal) => Kill(pid, signal) == 0;

    /// <summary>Every live (non-zombie) descendant of <paramref name="root"/>.</summary>
    public static IReadOnlyList<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var (pid, parent, state) in ReadAll())
        {
            if (state == 'Z') { continue; }
            if (!children.TryGetValue(parent, out var list)) { children[parent] = list = []; }
            list.Add(pid);
        }

        var result = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var pid))
        {
            foreach (var child in children.GetValueOrDefault(pid) ?? [])
            {
                result.Add(child);
                queue.Enqueue(child);
            }
        }
        return result;
    }

    /// <summary>
    /// Reaps zombie children the runtime does not know about (adopted orphans): .NET only waits for the
    /// processes it started, so without this they would stay in the process table until the app host exits.
    /// </summary>
    public static void ReapAdoptedZombies(IReadOnlySet<int> startedByUs)
    {
        var self = Environment.ProcessId;
        foreach (var (pid, parent, state) in ReadAll())
        {
            if (parent == self && state == 'Z' && !startedByUs.Contains(pid))
            {
                _ = WaitPid(pid, out _, WNoHang);
            }
        }
    }

    private static IEnumerable<(int Pid, int Parent, char State)> ReadAll()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) { continue; }
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent))
            {
                yield return (pid, parent, fields[0][0]);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static partial int WaitPid(int pid, out int status, int options);
}
