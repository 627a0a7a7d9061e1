using System.Diagnostics;
using StoryDream.AppHost.Hosting;

namespace StoryDream.AppHost.Orchestration;

/// <summary>
/// Starts every resource in <c>WaitFor</c> order and, when the app host stops (Ctrl+C, SIGTERM), stops them all:
/// services first, then the servers they use, then anything else they started.
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

    public Orchestrator(IReadOnlyList<Resource> resources, string otlpEndpoint, SupervisorTimings timings, HttpClient http, TimeProvider time, ILogger<Orchestrator> logger)
    {
        ArgumentNullException.ThrowIfNull(resources);
        _logger = logger;
        InstanceId = Guid.NewGuid().ToString("N");
        _time = time;
        _timings = timings;
        var closedPort = ClosedPort();
        var byResource = new Dictionary<Resource, ResourceSupervisor>();
        // Dependencies first, so each supervisor can be handed those it waits for.
        foreach (var resource in InDependencyOrder(resources))
        {
            var environment = ResourceEnvironment.For(resource, otlpEndpoint, closedPort);
            environment[InstanceVariable] = InstanceId;
            var supervisor = new ResourceSupervisor(resource, [.. resource.WaitsFor.Select(d => byResource[d])], environment, timings, http, time, logger);
            byResource[resource] = supervisor;
            _supervisors.Add(supervisor);
        }
    }

    /// <summary>Inherited by every process the resources start, so the app host can find them all at shutdown.</summary>
    public const string InstanceVariable = "STORYDREAM_APPHOST_INSTANCE";

    public string InstanceId { get; }

    public IReadOnlyList<ResourceSupervisor> Supervisors => _supervisors;

    /// <summary>Completes, with the time it took, the first time every resource is healthy.</summary>
    public Task<TimeSpan> AllHealthy => _allHealthy.Task;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        foreach (var supervisor in _supervisors) { _runs.Add(Task.Run(() => supervisor.RunAsync(_stopping.Token), CancellationToken.None)); }
        _ = Task.WhenAll(_supervisors.Select(s => s.FirstHealthy)).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) { _allHealthy.TrySetResult(started.Elapsed); }
        }, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    // Stopping runs before any hosted service stops, so the dashboard (Kestrel) still receives the services'
    // last telemetry while they shut down; with it gone their exporters would retry until killed.
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        try
        {
            // A supervisor must never keep its processes alive: if one does not wind down in time, stop them anyway.
            await Task.WhenAll(_runs).WaitAsync(_timings.StopGrace, CancellationToken.None);
        }
        catch (TimeoutException)
        {
            LogSupervisorsSlow(_logger);
        }

        // Services before the servers they use, so none of them logs a storm of connection errors on the way out.
        await Task.WhenAll(_supervisors.Where(s => s.Resource is ProjectResource).Select(s => s.StopAsync(_timings.StopGrace)));
        await Task.WhenAll(_supervisors.Where(s => s.Resource is not ProjectResource).Select(s => s.StopAsync(_timings.StopGrace)));
        await StopStragglersAsync();
    }

    /// <summary>
    /// Whatever still carries this app host's marker (a pod an API left behind, an emulator's JVM still shutting
    /// down after its launcher exited, something that left its process group) gets SIGTERM, then SIGKILL.
    /// </summary>
    private async Task StopStragglersAsync()
    {
        var left = Stragglers();
        if (left.Count == 0) { return; }
        LogStragglers(_logger, left.Count, string.Join(", ", left));
        foreach (var pid in left) { ProcessTree.Signal(pid, ProcessTree.SigTerm); }
        var deadline = _time.GetUtcNow() + _timings.StopGrace;
        while (_time.GetUtcNow() < deadline && Stragglers().Count > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), _time);
        }
        foreach (var pid in Stragglers()) { ProcessTree.Signal(pid, ProcessTree.SigKill); }
        // SIGKILL is asynchronous: wait for the kernel to take them down, so nothing is left when this returns.
        for (var i = 0; i < 50 && Stragglers().Count > 0; i++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time);
        }
    }

    private IReadOnlyList<int> Stragglers() => ProcessTree.WithEnvironment(InstanceVariable, InstanceId);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;


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

    public void Dispose() => _stopping.Dispose();

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Some resource supervisors did not wind down in time; stopping their processes anyway")]
    private static partial void LogSupervisorsSlow(ILogger logger);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Stopping {Count} processes left behind by the resources: {Pids}")]
    private static partial void LogStragglers(ILogger logger, int count, string pids);
}
