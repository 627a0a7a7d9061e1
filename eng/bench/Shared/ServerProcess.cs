using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace StoryDream.Bench;

/// <summary>A server run by an <c>eng/servers</c> launcher, which prints <c>READY host:port</c> and stops cleanly on SIGTERM (or any program that does the same).</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, string endpoint)
    {
        _process = process;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    /// <summary>The repository this benchmark was built in (the folder holding StoryDream.sln).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static Task<ServerProcess> StartAsync(string script)
    {
        var root = RepositoryRoot;
        var info = new ProcessStartInfo("bash") { WorkingDirectory = root };
        info.ArgumentList.Add(Path.Combine(root, "eng", "servers", script));
        info.ArgumentList.Add(FreePort().ToString(CultureInfo.InvariantCulture));
        return StartAsync(info, script);
    }

    /// <summary>
    /// Any program that prints <c>READY ...</c> on standard output once it serves (the session pod prints its ports that
    /// way); <see cref="Endpoint"/> is the rest of that line. Its standard error goes to ours, marked with <paramref name="name"/>.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(ProcessStartInfo info, string name)
    {
        ArgumentNullException.ThrowIfNull(info);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {name}.");
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { ready.TrySetException(new InvalidOperationException($"{name} exited before it was ready.")); }
            else if (e.Data.StartsWith("READY ", StringComparison.Ordinal)) { ready.TrySetResult(e.Data["READY ".Length..].Trim()); }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) { Console.Error.WriteLine($"[{name}] {e.Data}"); }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            return new ServerProcess(process, await ready.Task.WaitAsync(TimeSpan.FromSeconds(120)));
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "StoryDream.sln"))) { return directory.FullName; }
        }
        throw new InvalidOperationException($"Run the benchmark from inside the repository (no StoryDream.sln above {AppContext.BaseDirectory}).");
    }
}
