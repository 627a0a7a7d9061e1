using System.Diagnostics;
using System.Text.RegularExpressions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

/// <summary>
/// A real <c>session-pod</c> (scripted agent) started with <c>npm --prefix session-pod start</c> on free ports, with the
/// default template copied into its workspace. The pod's <c>dist/</c> is built once per test run when it is missing.
/// </summary>
internal sealed partial class SessionPodProcess : IAsyncDisposable
{
    private static readonly SemaphoreSlim BuildLock = new(1, 1);
    private static bool s_built;
    private readonly LauncherProcess _process;
    private readonly string _folder;

    private SessionPodProcess(LauncherProcess process, string folder, Uri previewUrl, string sessionId, string podSecret)
    {
        _process = process;
        _folder = folder;
        PreviewUrl = previewUrl;
        SessionId = sessionId;
        PodSecret = podSecret;
    }

    public Uri PreviewUrl { get; }

    public string SessionId { get; }

    /// <summary>The secret the pod wants on every request, as the session record holds it.</summary>
    public string PodSecret { get; }

    public string Workspace => Path.Combine(_folder, "workspace");

    public static async Task<SessionPodProcess> StartAsync(string previewBase, string sessionId, CancellationToken cancellationToken)
    {
        var podSecret = StoryDream.Sessions.PodCredentials.NewPodSecret();
        await EnsureBuiltAsync(cancellationToken);
        var folder = Directory.CreateTempSubdirectory("sd-gateway-pod-").FullName;
        CopyTree(Path.Combine(RepositoryPaths.Root, "templates", "default", "src"), Path.Combine(folder, "workspace", "src"));
        var process = await LauncherProcess.StartAsync("npm", ["--prefix", "session-pod", "start"], TimeSpan.FromSeconds(60), new Dictionary<string, string>
        {
            ["WORKSPACE_DIR"] = Path.Combine(folder, "workspace"),
            ["VITE_CACHE_DIR"] = Path.Combine(folder, "vite-cache"),
            ["STORYDREAM_AGENT"] = "scripted",
            ["BIND_HOST"] = "127.0.0.1",
            ["FILES_PORT"] = "0",
            ["AGENT_PORT"] = "0",
            ["PREVIEW_PORT"] = "0",
            ["PREVIEW_BASE"] = previewBase,
            ["STORYDREAM_SESSION_ID"] = sessionId,
            ["STORYDREAM_POD_SECRET"] = podSecret,
        });
        var preview = PreviewPort().Match(process.Endpoint);
        if (!preview.Success)
        {
            await process.DisposeAsync();
            throw new InvalidOperationException($"The pod's READY line has no preview port: {process.Endpoint}");
        }
        return new SessionPodProcess(process, folder, new Uri($"http://127.0.0.1:{preview.Groups[1].Value}/"), sessionId, podSecret);
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }

    private static async Task EnsureBuiltAsync(CancellationToken cancellationToken)
    {
        await BuildLock.WaitAsync(cancellationToken);
        try
        {
            if (s_built || File.Exists(Path.Combine(RepositoryPaths.Root, "session-pod", "dist", "src", "main.js"))) { s_built = true; return; }
            var info = new ProcessStartInfo("npm") { WorkingDirectory = RepositoryPaths.Root, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { "--prefix", "session-pod", "run", "build" }) { info.ArgumentList.Add(argument); }
            using var build = Process.Start(info) ?? throw new InvalidOperationException("Could not run npm.");
            var output = build.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = build.StandardError.ReadToEndAsync(cancellationToken);
            await build.WaitForExitAsync(cancellationToken);
            if (build.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm --prefix session-pod run build failed (did eng/setup.sh run npm ci?):\n{await output}\n{await errors}");
            }
            s_built = true;
        }
        finally
        {
            BuildLock.Release();
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from)) { File.Copy(file, Path.Combine(to, Path.GetFileName(file))); }
        foreach (var dir in Directory.EnumerateDirectories(from)) { CopyTree(dir, Path.Combine(to, Path.GetFileName(dir))); }
    }

    [GeneratedRegex(@"preview=(\d+)")]
    private static partial Regex PreviewPort();
}
