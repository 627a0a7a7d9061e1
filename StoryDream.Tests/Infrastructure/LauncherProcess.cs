using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace StoryDream.Tests.Infrastructure;

/// <summary>
/// A server started through one of the launchers under <c>eng/servers</c>: they print <c>READY host:port</c>
/// once the server answers and stop it cleanly on SIGTERM.
/// </summary>
internal sealed class LauncherProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private LauncherProcess(Process process, string endpoint)
    {
        _process = process;
        Endpoint = endpoint;
    }

    /// <summary><c>127.0.0.1:PORT</c> of the running server.</summary>
    public string Endpoint { get; }

    public static async Task<LauncherProcess> StartAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, IDictionary<string, string>? environment = null)
    {
        var info = ProcessGroup.StartInfo(fileName, arguments);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = RepositoryPaths.Root;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { ready.TrySetException(new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited before it was ready:\n{string.Join('\n', log)}")); return; }
            lock (log) { log.Add(e.Data); }
            if (e.Data.StartsWith("READY ", StringComparison.Ordinal)) { ready.TrySetResult(e.Data["READY ".Length..].Trim()); }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        try
        {
            var endpoint = await ready.Task.WaitAsync(timeout);
            return new LauncherProcess(process, endpoint);
        }
        catch (Exception e)
        {
            await ProcessGroup.StopAsync(process, TimeSpan.Zero);
            process.Dispose();
            if (e is TimeoutException) { throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} was not ready within {timeout}:\n{string.Join('\n', log)}"); }
            throw;
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        // SIGTERM lets the launcher stop its server; the group is killed only if it does not go in time. Even a launcher
        // that has exited may have left its server behind in the group.
        await ProcessGroup.StopAsync(_process, TimeSpan.FromSeconds(10));
        _process.Dispose();
    }
}
