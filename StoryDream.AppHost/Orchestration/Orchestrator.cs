using System.Diagnostics;
using StoryDream.AppHost.Hosting;

namespace StoryDream.AppHost.Orchestration;

/// <summary>
/// Starts every resource in <c>WaitFor</c> order and, when the app host stops (Ctrl+C, SIGTERM), stops them all:
/// services first, then the servers they use, then anything still descending from the app host.
/// </summary>
internal sealed partial class Orchestrator : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<ResourceSupervisor> _supervisors = [];
    private readonly ILogger<Orchestrator> _logger;
    private readonly TimeProvider _time;
    private readonly SupervisorTimings _timings;
    private readonly TaskCompletionSource<TimeSpan> _allHealthy = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Task> _runs = [];
    private ITimer? _reaper;

    public Orchestrator(IReadOnlyList<Resource> resources, string otlpEndpoint, SupervisorTimings timings, HttpClient http, TimeProvider time, ILogger<Orchestrator> logger)
    {
        ArgumentNullException.ThrowIfNull(resources);
        _logger = logger;
        _time = time;
        _timings = timings;
        var closedPort = ClosedPort();
        var byResource = new Dictionary<Resource, ResourceSupervisor>();
        // Dependencies first, so each supervisor can be handed those it waits for.
        foreach (var resource in InDependencyOrder(resources))
        {
            var supervisor = new ResourceSupervisor(resource, [.. resource.WaitsFor.Select(d => byResource[d])],
                ResourceEnvironment.For(resource, otlpEndpoint, closedPort), timings, http, time, logger);
            byResource[resource] = supervisor;
            _supervisors.Add(supervisor);
        }
    }

    public IReadOnlyList<ResourceSupervisor> Supervisors => _supervisors;

    /// <summary>Completes, with the time it took, the first time every resource is healthy.</summary>
    public Task<TimeSpan> AllHealthy => _allHealthy.Task;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        ProcessTree.BecomeSubreaper();
        var started = Stopwatch.StartNew();
        foreach (var supervisor in _supervisors) { _runs.Add(Task.Run(() => supervisor.RunAsync(_stopping.Token), CancellationToken.None)); }
        _ = Task.WhenAll(_supervisors.Select(s => s.FirstHealthy)).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) { _allHealthy.TrySetResult(started.Elapsed); }
        }, TaskScheduler.Default);
        _reaper = _time.CreateTimer(_ => ProcessTree.ReapAdoptedZombies(TrackedPids()), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        return Task.CompletedTask;
    }

    // Stopping runs before any hosted service stops, so the dashboard (Kestrel) still receives the services'
    // last telemetry while they shut down; with it gone their exporters would retry until killed.
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_runs);
        if (_reaper is not null) { await _reaper.DisposeAsync(); }

        // Services before the servers they use, so none of them logs a storm of connection errors on the way out.
        await Task.WhenAll(_supervisors.Where(s => s.Resource is ProjectResource).Select(s => s.StopAsync(_timings.StopGrace)));
        await Task.WhenAll(_supervisors.Where(s => s.Resource is not ProjectResource).Select(s => s.StopAsync(_timings.StopGrace)));
        await StopStragglersAsync();
    }

    /// <summary>
    /// Whatever still descends from the app host (a pod an API left behind, a server that escaped its launcher's
    /// group) gets SIGTERM, then SIGKILL. Being a subreaper, the app host is an ancestor of all of them.
    /// </summary>
    private async Task StopStragglersAsync()
    {
        var left = ProcessTree.Descendants(Environment.ProcessId);
        if (left.Count == 0) { return; }
        LogStragglers(_logger, left.Count, string.Join(", ", left));
        foreach (var pid in left) { ProcessTree.Signal(pid, ProcessTree.SigTerm); }
        var deadline = _time.GetUtcNow() + TimeSpan.FromSeconds(5);
        while (_time.GetUtcNow() < deadline && ProcessTree.Descendants(Environment.ProcessId).Count > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), _time);
        }
        foreach (var pid in ProcessTree.Descendants(Environment.ProcessId)) { ProcessTree.Signal(pid, ProcessTree.SigKill); }
        await Task.Delay(TimeSpan.FromMilliseconds(100), _time);
        ProcessTree.ReapAdoptedZombies(TrackedPids());
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private HashSet<int> TrackedPids() => [.. _supervisors.Select(s => s.Pid).OfType<int>()];

    private static List<Resource> InDependencyOrder(IReadOnlyList<Resource> resources)
    {
        var ordered = new List<Resource>();
        void Visit(Resource resource)
        {
            if (ordered.Contains(resource)) { return; }
            foreach (var dependency in resource.WaitsFor) { Visit(dependency); }
            ordered.Add(resource);
        }
        foreach (var resource in resources) { Visit(resource); }
        return ordered;
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _reaper?.Dispose();
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Stopping {Count} processes left behind by the resources: {Pids}")]
    private static partial void LogStragglers(ILogger logger, int count, string pids);
}
