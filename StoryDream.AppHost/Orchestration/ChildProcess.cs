using System.Diagnostics;

namespace StoryDream.AppHost.Orchestration;

/// <summary>
/// A resource's process, started through <c>setsid</c> so that it leads its own process group: one signal to the
/// group reaches the launcher and the server it runs (bash and redis-server, dotnet and its session pods).
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process)
    {
        _process = process;
        // Not Process.WaitForExitAsync: it also waits for EOF on the output pipes, which a grandchild that
        // inherited them (and outlives its parent) can hold open for as long as it runs.
        _process.Exited += (_, _) => _exited.TrySetResult();
        _process.EnableRaisingEvents = true;
        if (_process.HasExited) { _exited.TrySetResult(); }
    }

    /// <summary>Also the process group id: <c>setsid</c> execs in place, so the group is led by this pid.</summary>
    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory,
        IEnumerable<KeyValuePair<string, string>> environment, Action<bool, string> onLine)
    {
        var info = new ProcessStartInfo("setsid")
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(fileName);
        foreach (var argument in arguments) { info.ArgumentList.Add(argument); }
        foreach (var (key, value) in environment) { info.Environment[key] = value; }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        // Nothing reads from the terminal: a child in its own session would get EIO or stop on SIGTTIN.
        process.StandardInput.Close();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { onLine(false, e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { onLine(true, e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ChildProcess(process);
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _exited.Task.WaitAsync(cancellationToken);

    /// <summary>SIGTERM to the whole group, then SIGKILL to whatever of it is left after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited) { ProcessTree.SignalGroup(Pid, ProcessTree.SigTerm); }
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            ProcessTree.SignalGroup(Pid, ProcessTree.SigKill);
            await WaitForExitAsync(CancellationToken.None);
        }
    }

    public void Dispose() => _process.Dispose();
}
