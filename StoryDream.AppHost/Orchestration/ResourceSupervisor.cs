using System.Net.Sockets;
using StoryDream.AppHost.Hosting;

namespace StoryDream.AppHost.Orchestration;

internal enum ResourceState
{
    Waiting,
    Starting,
    Running,
    Unhealthy,
    Exited,
    Restarting,
    FailedToStart,
    Stopping,
    Stopped,
}

internal sealed record ResourceSnapshot(
    string Name,
    string Kind,
    ResourceState State,
    bool Healthy,
    string Endpoint,
    string? Url,
    DateTimeOffset? StartedAt,
    double? UptimeSeconds,
    int Restarts,
    int? Pid,
    int? ExitCode,
    IReadOnlyList<string> WaitsFor);

/// <summary>
/// Runs one resource for the app host's lifetime: waits for its dependencies, starts it, watches its health,
/// and restarts it with exponential backoff when it exits (DCP's job in Aspire).
/// </summary>
internal sealed partial class ResourceSupervisor(
    Resource resource,
    IReadOnlyList<ResourceSupervisor> dependencies,
    IReadOnlyDictionary<string, string> environment,
    SupervisorTimings timings,
    HttpClient http,
    TimeProvider time,
    ILogger logger)
{
    private readonly TaskCompletionSource _firstHealthy = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private ChildProcess? _process;
    private DateTimeOffset? _startedAt;
    private int? _exitCode;

    public Resource Resource { get; } = resource;

    public ResourceLog Log { get; } = new();

    public ResourceState State { get; private set; } = ResourceState.Waiting;

    public int Restarts { get; private set; }

    /// <summary>Completes the first time the resource is healthy: what <c>WaitFor</c> waits on.</summary>
    public Task FirstHealthy => _firstHealthy.Task;

    public int? Pid => _process?.Pid;

    public IReadOnlyDictionary<string, string> Environment { get; } = environment;

    public bool IsHealthy => State == ResourceState.Running;

    public ResourceSnapshot Snapshot()
    {
        lock (_lock)
        {
            var running = State is ResourceState.Running or ResourceState.Unhealthy;
            return new ResourceSnapshot(
                Resource.Name, Resource.Kind, State, State == ResourceState.Running, Resource.Endpoint,
                Resource is ProjectResource project ? project.Url : null,
                _startedAt, running && _startedAt is { } started ? (time.GetUtcNow() - started).TotalSeconds : null,
                Restarts, running ? _process?.Pid : null, _exitCode, [.. Resource.WaitsFor.Select(r => r.Name)]);
        }
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            await Task.WhenAll(dependencies.Select(d => d.FirstHealthy)).WaitAsync(stopping);
            var failures = 0;
            while (!stopping.IsCancellationRequested)
            {
                var healthySince = await RunOnceAsync(stopping);
                if (stopping.IsCancellationRequested) { break; }

                // A resource that stayed healthy for a while earned a fresh start; one that keeps crashing backs off.
                failures = healthySince is { } since && time.GetUtcNow() - since >= timings.StableAfter ? 1 : failures + 1;
                var delay = TimeSpan.FromTicks(Math.Min(timings.MaxBackoff.Ticks, timings.FirstBackoff.Ticks << Math.Min(failures - 1, 16)));
                SetState(ResourceState.Restarting);
                LogRestarting(logger, Resource.Name, delay.TotalSeconds);
                await Task.Delay(delay, time, stopping);
                Restarts++;
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Nothing may end a supervisor silently: the dashboard would show a resource frozen in its last state.
            LogSupervisorFailed(logger, Resource.Name, e);
            Log.Add(time.GetUtcNow(), true, $"The app host stopped supervising this resource: {e}");
            SetState(ResourceState.FailedToStart);
        }
    }

    /// <summary>Starts the process once and returns when it exits (or the app host stops): when it became healthy, if it did.</summary>
    private async Task<DateTimeOffset?> RunOnceAsync(CancellationToken stopping)
    {
        SetState(ResourceState.Starting);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ChildProcess process;
        try
        {
            process = ChildProcess.Start(Resource.FileName, Resource.Arguments, Resource.WorkingDirectory, Environment, (isError, line) =>
            {
                Log.Add(time.GetUtcNow(), isError, line);
                if (Resource.Readiness == Readiness.ReadyLine && !isError && (line == "READY" || line.StartsWith("READY ", StringComparison.Ordinal))) { ready.TrySetResult(); }
            });
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            Log.Add(time.GetUtcNow(), true, $"Could not start: {e.Message}");
            SetState(ResourceState.FailedToStart);
            return null;
        }

        lock (_lock)
        {
            _process?.Dispose();
            _process = process;
            _startedAt = time.GetUtcNow();
            _exitCode = null;
        }

        var exited = process.WaitForExitAsync(CancellationToken.None);
        DateTimeOffset? healthySince = null;
        if (await WaitUntilReadyAsync(ready.Task, exited, stopping))
        {
            healthySince = time.GetUtcNow();
            SetState(ResourceState.Running);
            _firstHealthy.TrySetResult();
            await MonitorAsync(exited, stopping);
        }
        else if (!exited.IsCompleted && !stopping.IsCancellationRequested)
        {
            Log.Add(time.GetUtcNow(), true, $"Not ready within {timings.ReadyTimeout.TotalSeconds:0} s; stopping it to try again.");
            await process.StopAsync(timings.StopGrace);
        }

        if (stopping.IsCancellationRequested) { return healthySince; }
        await exited;
        lock (_lock) { _exitCode = process.ExitCode; }
        SetState(ResourceState.Exited);
        LogExited(logger, Resource.Name, process.ExitCode, string.Join("\n  ", Log.Last(10).Select(l => l.Text)));
        return healthySince;
    }

    private async Task<bool> WaitUntilReadyAsync(Task readyLine, Task exited, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(timings.ReadyTimeout);
        try
        {
            if (Resource.Readiness == Readiness.ReadyLine)
            {
                return await Task.WhenAny(readyLine, exited).WaitAsync(timeout.Token) == readyLine;
            }
            while (!exited.IsCompleted)
            {
                if (await ProbeAsync(timeout.Token)) { return true; }
                await Task.WhenAny(exited, Task.Delay(timings.ReadyPollInterval, time, timeout.Token));
            }
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task MonitorAsync(Task exited, CancellationToken stopping)
    {
        while (!exited.IsCompleted && !stopping.IsCancellationRequested)
        {
            try
            {
                await Task.WhenAny(exited, Task.Delay(timings.HealthInterval, time, stopping));
            }
            catch (OperationCanceledException)
            {
                return;
            }
            if (exited.IsCompleted || stopping.IsCancellationRequested) { return; }
            var healthy = await ProbeAsync(stopping);
            if (State is ResourceState.Running or ResourceState.Unhealthy)
            {
                SetState(healthy ? ResourceState.Running : ResourceState.Unhealthy);
            }
        }
    }

    private async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            if (Resource is ProjectResource project)
            {
                using var response = await http.GetAsync(new Uri(project.Url + "/health"), timeout.Token);
                return response.IsSuccessStatusCode;
            }
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Resource.Port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Stops the process group (call after the run loop was cancelled, so nothing restarts it).</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        var process = _process;
        if (process is null || process.HasExited)
        {
            SetState(ResourceState.Stopped);
            return;
        }
        SetState(ResourceState.Stopping);
        await process.StopAsync(grace);
        lock (_lock) { _exitCode = process.ExitCode; }
        SetState(ResourceState.Stopped);
    }

    private void SetState(ResourceState state)
    {
        ResourceState previous;
        lock (_lock)
        {
            previous = State;
            State = state;
        }
        if (previous != state) { LogState(logger, Resource.Name, state); }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Resource}: {State}")]
    private static partial void LogState(ILogger logger, string resource, ResourceState state);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Resource} exited with code {ExitCode}; its last lines:\n  {Lines}")]
    private static partial void LogExited(ILogger logger, string resource, int exitCode, string lines);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Supervising {Resource} failed")]
    private static partial void LogSupervisorFailed(ILogger logger, string resource, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "{Resource} restarts in {Seconds} s")]
    private static partial void LogRestarting(ILogger logger, string resource, double seconds);
}

internal sealed record SupervisorTimings
{
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(120);
    public TimeSpan ReadyPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(10);
}
