using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using StoryDream.Api.Sessions;
using StoryDream.Sessions;

namespace StoryDream.Api.Exports;

/// <summary>A render pod that is up, has proven who it is, and holds a snapshot's files; its secret goes with every request.</summary>
internal sealed record HydratedRenderPod(string PodId, Uri RenderUrl, string PodSecret)
{
    public override string ToString() => $"render pod {PodId} at {RenderUrl}";
}

/// <summary>Thrown when a render cannot run for a reason a retry will not change (an unknown snapshot, say).</summary>
internal sealed class RenderRefusedException(string message) : Exception(message);

/// <summary>
/// Starts render pods through the session runtime and has the sync worker hydrate them, as it does session pods: the
/// <c>render:{podId}</c> key tells the worker where the pod's file API is and the pod secret it must prove. Like a session
/// pod, a render pod gets nothing but its own random secret (DESIGN section 8).
/// <para>
/// It keeps <see cref="ExportOptions.WarmRenderPods"/> pods started ahead (warm: the renderer loaded and its browser open
/// and settled, no project's files yet), so that a render skips the pod's start. A warm pod serves one render and is then
/// deleted like any other; it is refilled only while no render of this replica runs, so that its start never takes cores
/// from a render. Each warm pod is registered in Redis (<see cref="ExportQueue.AddWarmPodAsync"/>) before it is created
/// and confirmed on every tick; one nobody confirmed for <see cref="ExportOptions.StaleAfter"/> (its replica died) is
/// deleted by whichever replica sweeps first.
/// </para>
/// </summary>
internal sealed partial class RenderPods(
    ISessionRuntime runtime,
    SyncJobs syncJobs,
    ExportQueue queue,
    RenderPodClient renders,
    IOptions<ExportOptions> options,
    ILogger<RenderPods> logger) : BackgroundService
{
    private sealed record WarmPod(string PodId, RenderPodEndpoints Endpoints, string PodSecret);

    private readonly ExportOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, WarmPod> _warm = new(StringComparer.Ordinal);
    // Handed out by NewPodIdAsync and not yet started: still registered as warm, so a crash in between orphans nothing.
    private readonly ConcurrentDictionary<string, WarmPod> _taken = new(StringComparer.Ordinal);
    // Render pods of this replica between NewPodIdAsync and DeleteAsync: the pool refills only when there are none.
    private readonly ConcurrentDictionary<string, byte> _inUse = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _refill = new(0);

    private TimeSpan Tick => TimeSpan.FromTicks(Math.Min(_options.StaleAfter.Ticks / 4, TimeSpan.FromSeconds(15).Ticks));

    /// <summary>Warm pods ready now (tests and logs).</summary>
    public IReadOnlyCollection<string> WarmPodIds => [.. _warm.Keys];

    /// <summary>
    /// The id of the pod the next render runs in, to be recorded before <see cref="StartAsync"/>: a warm pod's when one
    /// is ready and still proves who it is, else a new id. Every id given out must reach <see cref="DeleteAsync"/>.
    /// </summary>
    public async Task<string> NewPodIdAsync(CancellationToken cancellationToken)
    {
        foreach (var podId in _warm.Keys)
        {
            if (!_warm.TryRemove(podId, out var warm)) { continue; }
            // Proven again: a warm pod that died since may have left its address to another pod, or to nobody.
            string? reason;
            try
            {
                reason = await renders.VerifyAsync(podId, warm.Endpoints.RenderUrl, warm.PodSecret, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                reason = e.Message;
            }
            if (reason is not null)
            {
                LogWarmPodLost(podId, reason);
                await DeleteWarmQuietlyAsync(podId);
                continue;
            }
            _inUse[podId] = 0;
            _taken[podId] = warm;
            return podId;
        }
        var id = Guid.NewGuid().ToString("D");
        _inUse[id] = 0;
        return id;
    }

    public async Task<HydratedRenderPod> StartAsync(string podId, string projectId, string snapshotId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        RenderPodEndpoints endpoints;
        string podSecret;
        if (_taken.TryRemove(podId, out var warm))
        {
            // The export record names the pod now, so the exports' sweep covers it from here on.
            await queue.RemoveWarmPodAsync(podId);
            (endpoints, podSecret) = (warm.Endpoints, warm.PodSecret);
        }
        else
        {
            podSecret = PodCredentials.NewPodSecret();
            endpoints = await CreateVerifiedAsync(podId, projectId, podSecret, deadline.Token);
        }
        await queue.SetRenderPodAsync(podId, projectId, endpoints.FilesUrl, podSecret);
        var job = new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Hydrate, projectId, podId, SyncReasons.Render, SnapshotId: snapshotId);
        var result = await syncJobs.RunAsync(job, timeout, deadline.Token);
        if (result.Status != SyncEvent.Done)
        {
            throw new RenderRefusedException($"The project's files could not be loaded into the render pod: {result.Error}");
        }
        return new HydratedRenderPod(podId, endpoints.RenderUrl, podSecret);
    }

    public async Task DeleteAsync(string podId)
    {
        try
        {
            _taken.TryRemove(podId, out var taken);
            await runtime.DeleteRenderAsync(podId, CancellationToken.None);
            await queue.ClearRenderPodAsync(podId);
            if (taken is not null) { await queue.RemoveWarmPodAsync(podId); }
        }
        finally
        {
            // Even when the delete failed (the caller logs it): a pod this replica lost track of must not stop the refills.
            if (_inUse.TryRemove(podId, out _) && _inUse.IsEmpty) { _refill.Release(); }
        }
    }

    public Task<bool> IsAliveAsync(string podId, CancellationToken cancellationToken) => runtime.IsRenderAliveAsync(podId, cancellationToken);

    private async Task<RenderPodEndpoints> CreateVerifiedAsync(string podId, string? projectId, string podSecret, CancellationToken cancellationToken)
    {
        var endpoints = await runtime.CreateRenderAsync(podId, projectId, podSecret, cancellationToken);
        if (await renders.VerifyAsync(podId, endpoints.RenderUrl, podSecret, cancellationToken) is { } reason)
        {
            throw new HttpRequestException($"The pod at {endpoints.RenderUrl} is not render pod {podId}: {reason}.");
        }
        return endpoints;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // A tick after start, so that the warm pod's start does not slow the replica's own (or, locally, the stack's).
            await Task.Delay(Tick, stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await SweepWarmAsync(stoppingToken);
                    await FillAsync(stoppingToken);
                }
                catch (Exception e) when (e is StackExchange.Redis.RedisException or HttpRequestException or InvalidOperationException or IOException && !stoppingToken.IsCancellationRequested)
                {
                    LogPoolTickFailed(e);
                }
                await _refill.WaitAsync(Tick, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Warm pods die with their replica, and so do those a render took but had not started when the replica stopped.
            foreach (var podId in _warm.Keys)
            {
                if (_warm.TryRemove(podId, out _)) { await DeleteWarmQuietlyAsync(podId); }
            }
            foreach (var podId in _taken.Keys)
            {
                if (_taken.TryRemove(podId, out _)) { await DeleteWarmQuietlyAsync(podId); }
            }
        }
    }

    /// <summary>Confirms this replica's warm pods (dropping dead ones) and deletes the warm pods of replicas that are gone.</summary>
    internal async Task SweepWarmAsync(CancellationToken cancellationToken)
    {
        foreach (var podId in _warm.Keys.Concat(_taken.Keys))
        {
            if (_warm.ContainsKey(podId) && !await runtime.IsRenderAliveAsync(podId, cancellationToken))
            {
                if (_warm.TryRemove(podId, out _))
                {
                    LogWarmPodLost(podId, "it stopped");
                    await DeleteWarmQuietlyAsync(podId);
                }
                continue;
            }
            await queue.ConfirmWarmPodAsync(podId, _options.StaleAfter);
        }
        foreach (var podId in await queue.ExpiredWarmPodsAsync())
        {
            if (!await queue.RemoveWarmPodAsync(podId)) { continue; }
            LogOrphanDeleted(podId);
            await runtime.DeleteRenderAsync(podId, CancellationToken.None);
        }
    }

    private async Task FillAsync(CancellationToken stoppingToken)
    {
        while (_warm.Count < _options.WarmRenderPods && _inUse.IsEmpty && !stoppingToken.IsCancellationRequested)
        {
            // A start holds up this loop, and so its confirmations, for up to StartTimeout: cover the pods already held
            // (with more than one warm pod, or one taken but not started), so that no sweep takes them for orphans meanwhile.
            foreach (var held in _warm.Keys.Concat(_taken.Keys))
            {
                await queue.ConfirmWarmPodAsync(held, _options.StartTimeout + _options.StaleAfter);
            }
            var podId = Guid.NewGuid().ToString("D");
            await queue.AddWarmPodAsync(podId, _options.StartTimeout + _options.StaleAfter);
            try
            {
                var podSecret = PodCredentials.NewPodSecret();
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                deadline.CancelAfter(_options.StartTimeout);
                var endpoints = await CreateVerifiedAsync(podId, null, podSecret, deadline.Token);
                _warm[podId] = new WarmPod(podId, endpoints, podSecret);
                LogWarmPodReady(podId);
            }
            catch
            {
                await DeleteWarmQuietlyAsync(podId);
                throw;
            }
        }
    }

    private async Task DeleteWarmQuietlyAsync(string podId)
    {
        try
        {
            await runtime.DeleteRenderAsync(podId, CancellationToken.None);
            await queue.RemoveWarmPodAsync(podId);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or HttpRequestException or InvalidOperationException or IOException)
        {
            // Still registered: the next sweep of any replica deletes it once it is stale.
            LogPoolTickFailed(e);
        }
    }

    public override void Dispose()
    {
        _refill.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Warm render pod {PodId} is ready")]
    private partial void LogWarmPodReady(string podId);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "Warm render pod {PodId} was dropped: {Reason}")]
    private partial void LogWarmPodLost(string podId, string reason);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Information, Message = "Deleted warm render pod {PodId}: no replica confirmed it (its replica stopped)")]
    private partial void LogOrphanDeleted(string podId);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "The warm render pods' tick failed; trying again on the next one")]
    private partial void LogPoolTickFailed(Exception exception);
}
