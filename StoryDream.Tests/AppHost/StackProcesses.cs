using System.Globalization;
using Aspire.Hosting;
using StoryDream.ServiceDefaults;

namespace StoryDream.Tests.AppHost;

/// <summary>A process seen while the stack ran: pid with its start time, so a reused pid is never mistaken for it.</summary>
internal sealed record StackProcess(int Pid, long StartTicks, string Command)
{
    public bool IsAlive => Read(Pid) is { } now && now.StartTicks == StartTicks && !now.Zombie;

    /// <summary>
    /// Every process the running stack is made of: each resource's process (from Aspire's resource snapshots) with
    /// its descendants (a launcher's JVM, a service under <c>dotnet run</c>, the API's session pods) and its ancestors
    /// up to DCP.
    /// </summary>
    public static IReadOnlyList<StackProcess> Of(DistributedApplication app)
    {
        var roots = ResourceNames.All.Select(name => PidOf(app, name)).OfType<int>();
        return WithRelatives(roots, includeDcp: true);
    }

    /// <summary>A resource's process id, from its Aspire snapshot; null when it has none (not started, or stopped).</summary>
    public static int? PidOf(DistributedApplication app, string resource)
    {
        if (!app.ResourceNotifications.TryGetCurrentState(resource, out var resourceEvent)) { return null; }
        var pid = resourceEvent.Snapshot.Properties.FirstOrDefault(p => p.Name is "executable.pid" or "project.pid")?.Value;
        return pid is not null && int.TryParse(Convert.ToString(pid, CultureInfo.InvariantCulture), out var value) ? value : null;
    }

    /// <summary>
    /// Every process that carries <paramref name="name"/>=<paramref name="value"/> in its environment, with its descendants
    /// (some rewrite their environment: redis-server sets its process title over it).
    /// </summary>
    public static IReadOnlyList<StackProcess> Marked(string name, string value)
    {
        var marker = $"{name}={value}";
        var roots = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) { continue; }
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains(marker)) { roots.Add(pid); }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone, or not ours to read.
            }
        }
        return WithRelatives(roots, includeDcp: false);
    }

    private static IReadOnlyList<StackProcess> WithRelatives(IEnumerable<int> roots, bool includeDcp)
    {
        var all = AllProcesses();
        var seen = new Dictionary<int, StackProcess>();
        foreach (var root in roots)
        {
            // Up: DCP's controllers and API server, whose command lines name dcp.
            for (var up = root; includeDcp && all.TryGetValue(up, out var p); up = p.ParentPid)
            {
                if (up != root && !p.Process.Command.Contains("/dcp", StringComparison.Ordinal)) { break; }
                seen[up] = p.Process;
            }
            var queue = new Queue<int>([root]);
            while (queue.TryDequeue(out var pid))
            {
                if (all.TryGetValue(pid, out var p)) { seen[pid] = p.Process; }
                foreach (var (child, c) in all) { if (c.ParentPid == pid && !seen.ContainsKey(child)) { queue.Enqueue(child); } }
            }
        }
        return [.. seen.Values];
    }

    private static Dictionary<int, (StackProcess Process, int ParentPid)> AllProcesses()
    {
        var all = new Dictionary<int, (StackProcess, int)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) { continue; }
            if (Read(pid) is { } stat)
            {
                all[pid] = (new StackProcess(pid, stat.StartTicks, stat.Command), stat.ParentPid);
            }
        }
        return all;
    }

    private static (int ParentPid, long StartTicks, bool Zombie, string Command)? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var command = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
            return (int.Parse(fields[1], CultureInfo.InvariantCulture), long.Parse(fields[19], CultureInfo.InvariantCulture), fields[0] is "Z" or "X", command);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
