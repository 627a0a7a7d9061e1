using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>
/// Runs each session as a <c>session-pod</c> Node process on free loopback ports with its own workspace folder. The pod's
/// output goes to a log file rather than a pipe, so a pod outlives an API restart (a pipe to a dead parent would break it)
/// and the next API process adopts it from the state file written here. Each pod leads a process group of its own
/// (<c>setsid</c>), and is stopped as a group, so nothing the pod started (the agent's commands) outlives it.
/// </summary>
internal sealed partial class LocalSessionRuntime(IOptions<SessionOptions> options, ILogger<LocalSessionRuntime> logger)
    : ISessionRuntime
{
    private const string StateFileName = "state.json";
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    // A folder without a state file is a start in its first microseconds, or the wreck of a crash; only the latter is old.
    private static readonly TimeSpan StatelessFolderGrace = TimeSpan.FromMinutes(1);

    // The pod sees only these of the API's variables plus the configured ones: the API's secrets (Redis, auth keys,
    // the preview token key) must never reach a process that runs an agent.
    // STORYDREAM_TEST_RUN marks a test run's processes, so eng/test.sh can find any left running.
    private static readonly string[] InheritedVariables = ["PATH", "HOME", "LANG", "TMPDIR", "NODE_EXTRA_CA_CERTS", "STORYDREAM_TEST_RUN"];

    // Node 22.14+ can refuse SIGUSR1, so agent code cannot open an inspector on the pod's servers; older Nodes (20 here)
    // do not know the flag and would not start with it. The image runs a Node that has it.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> DisableSigusr1 = new(StringComparer.Ordinal);

    private readonly SessionOptions _options = options.Value;
    private LocalRuntimeOptions Local => _options.Local;

    public string Name => "local";

    internal string StateDirectory => Local.StateDirectory is { Length: > 0 } dir ? Path.GetFullPath(dir) : Path.Combine(RepositoryRoot(), ".dev", "sessions");

    internal string RenderCacheDirectory => Local.RenderCacheDirectory is { Length: > 0 } dir ? Path.GetFullPath(dir) : Path.Combine(StateDirectory, "render-cache");

    internal string PodEntry => Local.PodEntry is { Length: > 0 } entry ? Path.GetFullPath(entry) : Path.Combine(RepositoryRoot(), "session-pod", "dist", "src", "main.js");

    public async Task<PodEndpoints> CreateAsync(string sessionId, string projectId, PodLaunch launch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ValidateId(sessionId);
        var folder = Path.Combine(StateDirectory, sessionId);
        var state = await StartAsync(folder, sessionId, projectId, environment =>
        {
            foreach (var (key, value) in launch.Environment(sessionId, _options, Local.Environment)) { environment[key] = value; }
            environment["AGENT_PORT"] = "0";
            environment["PREVIEW_PORT"] = "0";
            environment["PREVIEW_BASE"] = _options.PreviewBasePath(sessionId);
        }, cancellationToken);
        var endpoints = state.Endpoints!;
        LogPodStarted(logger, sessionId, projectId, state.Pid, endpoints.PreviewUrl, endpoints.AgentUrl, endpoints.FilesUrl, Path.Combine(folder, "workspace"));
        return endpoints;
    }

    public async Task<RenderPodEndpoints> CreateRenderAsync(string renderId, string? projectId, string podSecret, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(podSecret);
        ValidateId(renderId);
        var state = await StartAsync(Path.Combine(RenderDirectory, renderId), renderId, projectId ?? "", environment =>
        {
            foreach (var (key, value) in PodLaunch.RenderEnvironment(renderId, podSecret)) { environment[key] = value; }
            environment["STORYDREAM_MODE"] = "render";
            environment["RENDER_PORT"] = "0";
            // Shared by this runtime's render pods: an export after its snapshot's thumbnail bundles nothing.
            environment["RENDER_CACHE_DIR"] = RenderCacheDirectory;
        }, cancellationToken);
        LogRenderPodStarted(logger, renderId, state.Pid);
        return state.Render!;
    }

    public async Task DeleteRenderAsync(string renderId, CancellationToken cancellationToken)
    {
        ValidateId(renderId);
        var folder = Path.Combine(RenderDirectory, renderId);
        if (ReadState(folder) is { } state) { await StopProcessAsync(state); }
        // A killed pod's renderer takes a moment to follow it (it kills its process group when its parent goes) and may
        // still write into the workspace meanwhile.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                DeleteFolder(folder);
                return;
            }
            catch (IOException) when (attempt < 20)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
            }
        }
    }

    public Task<bool> IsRenderAliveAsync(string renderId, CancellationToken cancellationToken)
    {
        ValidateId(renderId);
        return Task.FromResult(ReadState(Path.Combine(RenderDirectory, renderId)) is { Render: not null } state && IsAlive(state));
    }

    /// <summary>Render pods live beside the sessions' folders, where <see cref="ListAsync"/> never takes them for sessions.</summary>
    internal string RenderDirectory => Path.Combine(StateDirectory, "renders");

    private async Task<PodState> StartAsync(string folder, string id, string projectId, Action<IDictionary<string, string?>> configure, CancellationToken cancellationToken)
    {
        if (!File.Exists(PodEntry))
        {
            throw new InvalidOperationException($"The session pod is not built: {PodEntry} is missing. Run 'bash eng/setup.sh' (it builds session-pod).");
        }
        var workspace = Path.Combine(folder, "workspace");
        Directory.CreateDirectory(workspace);
        var logPath = Path.Combine(folder, "pod.log");

        var info = new ProcessStartInfo("bash") { UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(PodEntry)! };
        // exec keeps the pid the pod's own (setsid execs in place: bash, a child of ours, leads no group), and makes it the
        // leader of its group; the redirection sends its output to the log file, not to a pipe we hold.
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec setsid \"$0\" \"$1\" \"$2\" >>\"$3\" 2>&1 </dev/null");
        info.ArgumentList.Add(Local.NodePath);
        info.ArgumentList.Add(DisableSigusr1.GetOrAdd(Local.NodePath, node => NodeAccepts(node, "--disable-sigusr1")) ? "--disable-sigusr1" : "--");
        info.ArgumentList.Add(PodEntry);
        info.ArgumentList.Add(logPath);
        info.Environment.Clear();
        foreach (var name in InheritedVariables)
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value) { info.Environment[name] = value; }
        }
        foreach (var (key, value) in Local.Environment) { info.Environment[key] = value; }
        info.Environment["WORKSPACE_DIR"] = workspace;
        info.Environment["BIND_HOST"] = "127.0.0.1";
        info.Environment["FILES_PORT"] = "0";
        configure(info.Environment);

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the session pod process.");
        var state = new PodState(id, projectId, process.Id, LocalPodProcess.StartTicks(process.Id), null);
        try
        {
            await WriteStateAsync(folder, state);
            state = await WaitForReadyAsync(process, logPath, state, cancellationToken);
            await WriteStateAsync(folder, state);
            return state;
        }
        catch
        {
            await StopProcessAsync(state);
            DeleteFolder(folder);
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
        if (DeleteFolder(folder))
        {
            LogPodDeleted(logger, sessionId);
        }
    }

    public Task<bool> IsAliveAsync(string sessionId, CancellationToken cancellationToken)
    {
        ValidateId(sessionId);
        return Task.FromResult(ReadState(Path.Combine(StateDirectory, sessionId)) is { Endpoints: not null } state && IsAlive(state));
    }

    public async Task<IReadOnlyList<RunningPod>> ListAsync(CancellationToken cancellationToken)
    {
        var pods = new List<RunningPod>();
        if (!Directory.Exists(StateDirectory)) { return pods; }
        foreach (var folder in Directory.EnumerateDirectories(StateDirectory))
        {
            var sessionId = Path.GetFileName(folder);
            if (!Guid.TryParseExact(sessionId, "D", out _)) { continue; }
            var state = ReadState(folder);
            if (state is not null && IsAlive(state))
            {
                // A live pod still starting belongs to a start in progress (perhaps another API's): not ours to touch.
                if (state.Endpoints is not null) { pods.Add(new RunningPod(state.SessionId, state.ProjectId, state.Endpoints)); }
                continue;
            }
            if (state is null && DateTime.UtcNow - Directory.GetCreationTimeUtc(folder) < StatelessFolderGrace) { continue; }
            // A pod that died with its API, or a start that never finished: its files were synced to the snapshot
            // store or are lost with the pod either way.
            await DeleteAsync(sessionId, cancellationToken);
        }
        return pods;
    }

    private async Task<PodState> WaitForReadyAsync(Process process, string logPath, PodState state, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started) < Local.ReadyTimeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (File.Exists(logPath))
            {
                var log = await ReadSharedAsync(logPath, cancellationToken);
                Uri Url(Match match, string group) => new($"http://127.0.0.1:{match.Groups[group].Value}/");
                if (ReadyLine().Match(log) is { Success: true } ready)
                {
                    return state with { Endpoints = new PodEndpoints(Url(ready, "preview"), Url(ready, "agent"), Url(ready, "files")) };
                }
                if (RenderReadyLine().Match(log) is { Success: true } render)
                {
                    return state with { Render = new RenderPodEndpoints(Url(render, "files"), Url(render, "render")) };
                }
            }
            if (process.HasExited)
            {
                var log = File.Exists(logPath) ? await ReadSharedAsync(logPath, cancellationToken) : "";
                throw new InvalidOperationException($"The session pod exited with code {process.ExitCode} before it was ready:\n{Tail(log)}");
            }
            // Real time on purpose: the pod starts in wall-clock time whatever clock the sessions keep.
            await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken);
        }
        throw new TimeoutException($"The session pod did not print its READY line within {Local.ReadyTimeout.TotalSeconds:0} s; see {logPath}.");
    }

    private static async Task<string> ReadSharedAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(cancellationToken);
    }

    private static Task StopProcessAsync(PodState state) => LocalPodProcess.StopAsync(state.Pid, state.StartTicks, StopGrace);

    private static bool IsAlive(PodState state) => LocalPodProcess.IsAlive(state.Pid, state.StartTicks);

    private static async Task WriteStateAsync(string folder, PodState state)
    {
        // Write then rename, so a reader never sees half a file.
        var path = Path.Combine(folder, StateFileName);
        await File.WriteAllTextAsync(path + ".tmp", JsonSerializer.Serialize(state));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static PodState? ReadState(string folder)
    {
        try
        {
            return JsonSerializer.Deserialize<PodState>(File.ReadAllText(Path.Combine(folder, StateFileName)));
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    private static bool DeleteFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
    }

    private static void ValidateId(string sessionId)
    {
        // The id becomes a folder name: only a canonical UUID can never climb out of the state directory.
        if (!Guid.TryParseExact(sessionId, "D", out var parsed) || parsed.ToString("D") != sessionId)
        {
            throw new ArgumentException("A session id is a lower-case UUID.", nameof(sessionId));
        }
    }

    private static bool NodeAccepts(string nodePath, string flag)
    {
        try
        {
            using var node = Process.Start(new ProcessStartInfo(nodePath, [flag, "-e", "0"]) { UseShellExecute = false, RedirectStandardError = true });
            if (node is null) { return false; }
            node.StandardError.ReadToEnd();
            node.WaitForExit();
            return node.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
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

    [GeneratedRegex(@"READY files=(?<files>\d+) render=(?<render>\d+)")]
    private static partial Regex RenderReadyLine();

    // Pods are the API's children, not app host resources: this line is how a developer finds one from the dashboard.
    [LoggerMessage(EventId = 2101, Level = LogLevel.Information,
        Message = "Session pod {SessionId} of project {ProjectId} started as process {Pid}: preview {PreviewUrl}, agent {AgentUrl}, files {FilesUrl}, workspace {Workspace}")]
    private static partial void LogPodStarted(ILogger logger, string sessionId, string projectId, int pid, Uri previewUrl, Uri agentUrl, Uri filesUrl, string workspace);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Session pod {SessionId} deleted")]
    private static partial void LogPodDeleted(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Render pod {RenderId} started as process {Pid}")]
    private static partial void LogRenderPodStarted(ILogger logger, string renderId, int pid);

    private sealed record PodState(string SessionId, string ProjectId, int Pid, long StartTicks, PodEndpoints? Endpoints, RenderPodEndpoints? Render = null);
}
