using System.Diagnostics;
using System.Globalization;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SyncWorker;

/// <summary>
/// The sync worker as its own process, <c>dotnet StoryDream.SyncWorker.dll</c> from its build output, configured
/// through the environment, so a test can kill it (SIGKILL) the way a node failure would.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;

    private WorkerProcess(Process process, string consumerName)
    {
        _process = process;
        ConsumerName = consumerName;
    }

    public string ConsumerName { get; }

    public static string Assembly
    {
        get
        {
            // The test and the worker are built with the same configuration (bin/Debug or bin/Release).
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            return Path.Combine(RepositoryPaths.Root, "StoryDream.SyncWorker", "bin", configuration, "net10.0", "StoryDream.SyncWorker.dll");
        }
    }

    public static async Task<WorkerProcess> StartAsync(IReadOnlyDictionary<string, string> environment, string consumerName)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (!File.Exists(Assembly)) { throw new InvalidOperationException($"{Assembly} is missing: build StoryDream.SyncWorker first."); }
        var info = ProcessGroup.StartInfo("dotnet", [Assembly]);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = Path.GetDirectoryName(Assembly)!;
        foreach (var (key, value) in environment) { info.Environment[key] = value; }
        info.Environment["SyncWorker__ConsumerName"] = consumerName;
        info.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the sync worker.");
        var log = new List<string>();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { ready.TrySetException(new InvalidOperationException($"The sync worker exited before it was ready:\n{Joined(log)}")); return; }
            lock (log) { log.Add(e.Data); }
            if (e.Data.Contains("consuming sync:jobs", StringComparison.Ordinal)) { ready.TrySetResult(); }
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(StartTimeout);
            return new WorkerProcess(process, consumerName);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is released or acknowledged.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>SIGSTOP: the process is frozen where it is, its sockets and any replies waiting in them untouched.</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>SIGCONT after <see cref="PauseAsync"/>.</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessGroup.StopAsync(_process, TimeSpan.FromSeconds(30));
        _process.Dispose();
    }

    private static string Joined(List<string> log)
    {
        lock (log) { return string.Join('\n', log); }
    }
}
