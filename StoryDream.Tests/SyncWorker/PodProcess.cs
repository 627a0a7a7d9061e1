using System.Diagnostics;
using System.Globalization;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.SyncWorker.Pods;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

/// <summary>
/// A real <c>session-pod</c> (session-pod/README.md): <c>node session-pod/dist/src/main.js</c> with the scripted agent
/// on free ports over a workspace of its own, ready once it prints <c>READY files=N agent=N preview=N</c>.
/// Needs <c>bash eng/setup.sh</c> (npm ci) and <c>npm run build</c> in session-pod.
/// </summary>
internal sealed class PodProcess : ITestPod, IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly bool _ownsWorkspace;

    private PodProcess(Process process, string workspace, bool ownsWorkspace, Uri filesUrl, string sessionId, string podSecret)
    {
        _process = process;
        Workspace = workspace;
        _ownsWorkspace = ownsWorkspace;
        FilesUrl = filesUrl;
        SessionId = sessionId;
        PodSecret = podSecret;
    }

    public string SessionId { get; }

    public string PodSecret { get; }

    /// <summary>The pod as the sync worker calls it.</summary>
    public PodTarget Target => new(FilesUrl, PodSecret);

    public string Workspace { get; }

    /// <summary>The file API's base URL, as a session record's <c>filesUrl</c> holds it.</summary>
    public Uri FilesUrl { get; }

    public static async Task<PodProcess> StartAsync(string? workspace = null, IDictionary<string, string>? environment = null)
    {
        var main = Path.Combine(RepositoryPaths.Root, "session-pod", "dist", "src", "main.js");
        if (!File.Exists(main))
        {
            throw new InvalidOperationException($"{main} is missing: run 'bash eng/setup.sh' and 'npm run build' in session-pod first.");
        }
        var ownsWorkspace = workspace is null;
        workspace ??= Directory.CreateTempSubdirectory("sd-pod-").FullName;
        var info = ProcessGroup.StartInfo("node", [main]);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = Path.Combine(RepositoryPaths.Root, "session-pod");
        info.Environment["WORKSPACE_DIR"] = workspace;
        info.Environment["FILES_PORT"] = "0";
        info.Environment["AGENT_PORT"] = "0";
        info.Environment["PREVIEW_PORT"] = "0";
        info.Environment["STORYDREAM_AGENT"] = "scripted";
        info.Environment["STORYDREAM_SESSION_ID"] = Guid.NewGuid().ToString("D");
        info.Environment["STORYDREAM_POD_SECRET"] = PodCredentials.NewPodSecret();
        info.Environment["VITE_CACHE_DIR"] = Path.Combine(workspace, "..", Path.GetFileName(workspace) + "-vite");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) { info.Environment[key] = value; }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start node.");
        var log = new List<string>();
        var ready = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { ready.TrySetException(new InvalidOperationException($"session-pod exited before it was ready:\n{Joined(log)}")); return; }
            lock (log) { log.Add(e.Data); }
            if (e.Data.StartsWith("READY ", StringComparison.Ordinal))
            {
                var files = e.Data.Split(' ').First(p => p.StartsWith("files=", StringComparison.Ordinal))["files=".Length..];
                ready.TrySetResult(int.Parse(files, CultureInfo.InvariantCulture));
            }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var port = await ready.Task.WaitAsync(StartTimeout);
            return new PodProcess(process, workspace, ownsWorkspace, new Uri($"http://127.0.0.1:{port}/"),
                info.Environment["STORYDREAM_SESSION_ID"]!, info.Environment["STORYDREAM_POD_SECRET"]!);
        }
        catch
        {
            await ProcessGroup.StopAsync(process, TimeSpan.Zero);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Writes a workspace file the way the agent would: straight to disk, behind the pod's back.</summary>
    public void WriteFile(string path, byte[] content)
    {
        var full = Path.Combine(Workspace, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
    }

    public void DeleteFile(string path) => File.Delete(Path.Combine(Workspace, path));

    /// <summary>Every file under the synced roots, by workspace path.</summary>
    public Dictionary<string, byte[]> ReadFiles()
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var root in SnapshotPath.WorkspaceRoots)
        {
            var dir = Path.Combine(Workspace, root);
            if (!Directory.Exists(dir)) { continue; }
            foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            {
                files[Path.GetRelativePath(Workspace, file).Replace('\\', '/')] = File.ReadAllBytes(file);
            }
        }
        return files;
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessGroup.StopAsync(_process, TimeSpan.FromSeconds(12));
        _process.Dispose();
        if (_ownsWorkspace)
        {
            TryDelete(Workspace);
            TryDelete(Workspace + "-vite");
        }
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) { Directory.Delete(dir, recursive: true); } }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string Joined(List<string> log)
    {
        lock (log) { return string.Join('\n', log); }
    }
}
