using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace StoryDream.Api.Sessions;

/// <summary>
/// Runs each session as a <c>session-pod</c> Node process on free loopback ports with its own workspace folder. The pod's
/// output goes to a log file rather than a pipe, so a pod outlives an API restart (a pipe to a dead parent would break it)
/// and the next API process adopts it from the state file written here.
/// </summary>
internal sealed partial class LocalSessionRuntime(IOptions<SessionOptions> options, TimeProvider time, ILogger<LocalSessionRuntime> logger) : ISessionRuntime
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);
    private readonly LocalRuntimeOptions _options = options.Value.Local;

    public string Name => "local";

    private string StateDirectory => _options.StateDirectory is { Length: > 0 } dir ? dir : Path.Combine(RepositoryRoot(), ".dev", "sessions");

    private string PodEntry => _options.PodEntry is { Length: > 0 } entry ? entry : Path.Combine(RepositoryRoot(), "session-pod", "dist", "main.js");

    public async Task<PodEndpoints> CreateAsync(string sessionId, string projectId, CancellationToken cancellationToken)
    {
        ValidateId(sessionId);
        var folder = Path.Combine(StateDirectory, sessionId);
        var workspace = Path.Combine(folder, "workspace");
        Directory.CreateDirectory(workspace);
        var logPath = Path.Combine(folder, "pod.log");
        if (!File.Exists(PodEntry))
        {
            throw new InvalidOperationException($"The session pod is not built: {PodEntry} is missing. Run 'bash eng/setup.sh' (it builds session-pod).");
        }

        var info = new ProcessStartInfo("bash") { UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(PodEntry)! };
        // exec keeps the pid the pod's own; the redirection sends its output to the log file, not to a pipe we hold.
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$1\" >>\"$2\" 2>&1 </dev/null");
        info.ArgumentList.Add(_options.NodePath);
        info.ArgumentList.Add(PodEntry);
        info.ArgumentList.Add(logPath);
        foreach (var (key, value) in _options.Environment) { info.Environment[key] = value; }
        info.Environment["WORKSPACE_DIR"] = workspace;
        info.Environment["HOST"] = "127.0.0.1";
        info.Environment["FILES_PORT"] = "0";
        info.Environment["AGENT_PORT"] = "0";
        info.Environment["PREVIEW_PORT"] = "0";
        info.Environment["PREVIEW_BASE"] = $"/preview/{sessionId}/";

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the session pod process.");
        var state = new PodState(sessionId, projectId, process.Id, StartTicks(process.Id), null);
        try
        {
            var endpoints = await WaitForReadyAsync(process, logPath, cancellationToken);
            state = state with { Endpoints = endpoints };
            await File.WriteAllTextAsync(Path.Combine(folder, "state.json"), JsonSerializer.Serialize(state), cancellationToken);
            LogPodStarted(logger, sessionId, process.Id, endpoints.PreviewUrl);
            return endpoints;
        }
        catch
        {
            await StopProcessAsync(state);
            throw;
        }
    }

    public async Task DeleteAsync(string sessionId, CancellationToken cancellationToken)
    {
        ValidateId(sessionId);
        var folder = Path.Combine(StateDirectory, sessionId);
        if (ReadState(folder) is { } state)
        {
            await StopProcessAsync(state);
        }
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
        LogPodDeleted(logger, sessionId);
    }

    public async Task<IReadOnlyList<RunningPod>> ListAsync(CancellationToken cancellationToken)
    {
        var pods = new List<RunningPod>();
        if (!Directory.Exists(StateDirectory)) { return pods; }
        foreach (var folder in Directory.EnumerateDirectories(StateDirectory))
        {
            var state = ReadState(folder);
            if (state is { Endpoints: not null } && IsAlive(state))
            {
                pods.Add(new RunningPod(state.SessionId, state.ProjectId, state.Endpoints));
                continue;
            }
            // A pod that died with its API, or a start that never finished: nothing of it is worth keeping here,
            // because its files were synced to the snapshot store or are lost with the pod either way.
            await DeleteAsync(Path.GetFileName(folder), cancellationToken);
        }
        return pods;
    }

    private async Task<PodEndpoints> WaitForReadyAsync(Process process, string logPath, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + ReadyTimeout;
        while (time.GetUtcNow() < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (File.Exists(logPath))
            {
                var log = await ReadSharedAsync(logPath, cancellationToken);
                if (ReadyLine().Match(log) is { Success: true } match)
                {
                    Uri Url(string group) => new($"http://127.0.0.1:{match.Groups[group].Value}/");
                    return new PodEndpoints(Url("preview"), Url("agent"), Url("files"));
                }
            }
            if (process.HasExited)
            {
                var log = File.Exists(logPath) ? await ReadSharedAsync(logPath, cancellationToken) : "";
                throw new InvalidOperationException($"The session pod exited with code {process.ExitCode} before it was ready:\n{Tail(log)}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken);
        }
        throw new TimeoutException($"The session pod did not print its READY line within {ReadyTimeout.TotalSeconds:0} s; see {logPath}.");
    }

    private static async Task<string> ReadSharedAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(cancellationToken);
    }

    private static async Task StopProcessAsync(PodState state)
    {
        if (!IsAlive(state)) { return; }
        try
        {
            using var process = Process.GetProcessById(state.Pid);
            Signal(state.Pid, "TERM");
            using var grace = new CancellationTokenSource(StopGrace);
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
        catch (ArgumentException)
        {
            // Exited between the check and the lookup: already stopped.
        }
    }

    /// <summary>Alive and still our pod: a pid reused by another program after a reboot has another start time.</summary>
    private static bool IsAlive(PodState state) =>
        File.Exists($"/proc/{state.Pid}/stat") && StartTicks(state.Pid) == state.StartTicks;

    /// <summary>Field 22 of <c>/proc/PID/stat</c>: the start time in clock ticks since boot; <c>0</c> when unreadable.</summary>
    private static long StartTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static void Signal(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
        kill?.WaitForExit();
    }

    private static PodState? ReadState(string folder)
    {
        var path = Path.Combine(folder, "state.json");
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<PodState>(File.ReadAllText(path)) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void ValidateId(string sessionId)
    {
        if (!Guid.TryParseExact(sessionId, "D", out _))
        {
            throw new ArgumentException("A session id is a UUID.", nameof(sessionId));
        }
    }

    private static string Tail(string log) => log.Length <= 4000 ? log : log[^4000..];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "session-pod"))) { return dir.FullName; }
        }
        throw new InvalidOperationException($"No session-pod folder above {AppContext.BaseDirectory}: set Sessions:Local:PodEntry and Sessions:Local:StateDirectory.");
    }

    [GeneratedRegex(@"READY files=(?<files>\d+) agent=(?<agent>\d+) preview=(?<preview>\d+)")]
    private static partial Regex ReadyLine();

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Session pod {SessionId} started as process {Pid}; preview at {PreviewUrl}")]
    private static partial void LogPodStarted(ILogger logger, string sessionId, int pid, Uri previewUrl);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Session pod {SessionId} deleted")]
    private static partial void LogPodDeleted(ILogger logger, string sessionId);

    private sealed record PodState(string SessionId, string ProjectId, int Pid, long StartTicks, PodEndpoints? Endpoints);
}
