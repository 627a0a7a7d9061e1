using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.GoogleCloud.Firestore;
using Google.Cloud.Storage.V1;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Api.Exports;

/// <summary>
/// Runs exports (one in every API replica): takes waiting exports while fewer than the limit render anywhere, runs each
/// in a render pod it polls, writes progress to the record and Redis, stores the MP4, deletes the pod. On every tick it
/// also sweeps the active set for renders nobody has heard from for <see cref="ExportOptions.StaleAfter"/>, which is how
/// an export outlives a worker that died with it.
/// </summary>
internal sealed partial class ExportWorker(
    ExportQueue queue,
    IExportStore store,
    RenderPods pods,
    RenderPodClient renders,
    StorageClient storage,
    IOptions<StorageOptions> storageOptions,
    IOptions<ExportOptions> options,
    TimeProvider time,
    ILogger<ExportWorker> logger) : BackgroundService
{
    private readonly ExportOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.PollInterval, time);
        try
        {
            do
            {
                try
                {
                    await SweepAsync(stoppingToken);
                    while (await queue.TryClaimAsync(_options.MaxConcurrentRenders) is { } member)
                    {
                        _running[member] = Task.Run(() => RunAsync(member, stoppingToken), CancellationToken.None);
                    }
                }
                catch (Exception e) when (e is RedisException or FirestoreException or HttpRequestException && !stoppingToken.IsCancellationRequested)
                {
                    LogTickFailed(e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        // Renders cut off by a shutdown stay active in Redis; the next sweep (here or in another replica) retries them.
        await Task.WhenAll(_running.Values);
    }

    /// <summary>Stale renders: failed and retried, or failed for good after the last attempt; canceled ones just cleaned up.</summary>
    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        foreach (var member in await queue.StaleAsync(_options.StaleAfter))
        {
            // A render of this replica that stopped reporting is its own task's to end; it checks on every poll.
            if (_running.ContainsKey(member) || !await queue.ReleaseAsync(member)) { continue; }
            var (projectId, exportId) = ExportQueue.Parse(member);
            if (await store.GetAsync(projectId, exportId, cancellationToken) is not { } export) { continue; }
            LogStale(projectId, exportId, export.Attempt);
            if (export.PodId is { } podId) { await pods.DeleteAsync(podId); }
            await storage.DeleteObjectIfPresentAsync(storageOptions.Value.Bucket, Export.ObjectName(projectId, exportId), cancellationToken);
            if (!ExportStatuses.IsFinal(export.Status))
            {
                await RetryOrFailAsync(export, $"The render stopped reporting for {_options.StaleAfter.TotalSeconds:0} s.", cancellationToken);
            }
        }
    }

    private async Task RunAsync(string member, CancellationToken stoppingToken)
    {
        var (projectId, exportId) = ExportQueue.Parse(member);
        Export? export = null;
        string? podId = null;
        var released = false;
        try
        {
            export = await store.GetAsync(projectId, exportId, stoppingToken);
            if (export is null || export.Status != ExportStatuses.Queued) { return; }
            podId = await pods.NewPodIdAsync(stoppingToken);
            export = await SaveAsync(export with
            {
                Status = ExportStatuses.Rendering,
                Progress = 0,
                LastUpdate = time.GetUtcNow(),
                PodId = podId,
            }, stoppingToken);
            if (export is null) { return; }
            var outcome = await RenderAsync(member, export, stoppingToken);
            released = outcome == Outcome.SweptAway;
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested && export is not null)
        {
            LogRenderFailed(e, projectId, exportId);
            // Read again: the attempt wrote progress since, and a cancel may have come in.
            if (await store.GetAsync(projectId, exportId, CancellationToken.None) is { } latest && !ExportStatuses.IsFinal(latest.Status))
            {
                await EndAsync(member, latest, e is RenderRefusedException ? e.Message : $"The render failed: {e.Message}", retry: e is not RenderRefusedException);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the export stays active, and is retried once its reports are stale.
            released = true;
        }
        finally
        {
            try
            {
                if (podId is not null && !stoppingToken.IsCancellationRequested) { await pods.DeleteAsync(podId); }
                if (!released) { await queue.ReleaseAsync(member); }
            }
            catch (Exception e) when (e is RedisException or InvalidOperationException or HttpRequestException or IOException)
            {
                // A pod left behind is found by the next sweep of stale renders only while it is active; log it for the operator.
                LogCleanupFailed(e, projectId, exportId);
            }
            _running.TryRemove(member, out _);
        }
    }

    private enum Outcome { Done, SweptAway }

    private async Task<Outcome> RenderAsync(string member, Export export, CancellationToken stoppingToken)
    {
        var pod = await pods.StartAsync(export.PodId!, export.ProjectId, export.SnapshotId, _options.StartTimeout, stoppingToken);
        await renders.StartAsync(pod, new RenderRequest("video", export.Composition, export.Codec, export.Quality, SnapshotId: export.SnapshotId), stoppingToken);
        await queue.TouchAsync(member);
        var started = time.GetTimestamp();
        var lastReport = time.GetUtcNow();
        RenderStatus? status = null;
        long? recordRead = null;
        while (true)
        {
            await Task.Delay(_options.PollInterval, time, stoppingToken);
            var readRecord = recordRead is not { } read || time.GetElapsedTime(read) >= _options.ProgressInterval;
            if (readRecord)
            {
                var current = await store.GetAsync(export.ProjectId, export.Id, stoppingToken);
                if (current is null || current.Status == ExportStatuses.Canceled)
                {
                    await CancelQuietlyAsync(pod);
                    return Outcome.Done;
                }
                export = current;
                recordRead = time.GetTimestamp();
            }
            try
            {
                status = await renders.StatusAsync(pod, stoppingToken);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !stoppingToken.IsCancellationRequested)
            {
                if (!await pods.IsAliveAsync(pod.PodId, stoppingToken))
                {
                    await EndAsync(member, export, "The render pod stopped mid-render (killed, evicted or crashed).", retry: true);
                    return Outcome.Done;
                }
                status = null;
            }
            if (status is not null)
            {
                lastReport = time.GetUtcNow();
                if (!await queue.TouchAsync(member)) { return Outcome.SweptAway; }
            }
            if (time.GetUtcNow() - lastReport > _options.StaleAfter)
            {
                // The same claim a sweep makes: whoever removes the member handles the stale render, once.
                if (!await queue.ReleaseAsync(member)) { return Outcome.SweptAway; }
                LogStale(export.ProjectId, export.Id, export.Attempt);
                await RetryOrFailAsync(export, $"The render stopped reporting for {_options.StaleAfter.TotalSeconds:0} s.", stoppingToken);
                return Outcome.SweptAway;
            }
            if (time.GetElapsedTime(started) > _options.RenderTimeout)
            {
                await CancelQuietlyAsync(pod);
                await EndAsync(member, export, $"The render took longer than {_options.RenderTimeout.TotalMinutes:0} minutes.", retry: false);
                return Outcome.Done;
            }
            switch (status?.State)
            {
                case "failed" or "canceled":
                    await EndAsync(member, export, status.Error ?? "The renderer stopped without saying why.", retry: false);
                    return Outcome.Done;
                case "complete":
                    await StoreAsync(member, export, pod, status, stoppingToken);
                    return Outcome.Done;
                case not null when readRecord && (status.Progress != export.Progress || time.GetUtcNow() - export.LastUpdate >= _options.StaleAfter / 4):
                    if (await SaveAsync(export with { Progress = status.Progress, LastUpdate = lastReport }, stoppingToken) is { } saved) { export = saved; }
                    break;
            }
        }
    }

    private async Task StoreAsync(string member, Export export, HydratedRenderPod pod, RenderStatus status, CancellationToken stoppingToken)
    {
        if (await SaveAsync(export with { Status = ExportStatuses.Uploading, Progress = 100, LastUpdate = time.GetUtcNow() }, stoppingToken) is not { } uploading)
        {
            return;
        }
        var name = Export.ObjectName(export.ProjectId, export.Id);
        long size;
        using (var output = await renders.OpenOutputAsync(pod, stoppingToken))
        await using (var stream = await output.Content.ReadAsStreamAsync(stoppingToken))
        {
            size = (long)((await storage.UploadObjectAsync(storageOptions.Value.Bucket, name, "video/mp4", stream, storageOptions.Value.Upload(), stoppingToken)).Size ?? 0);
        }
        var complete = await SaveAsync(uploading with
        {
            Status = ExportStatuses.Complete,
            LastUpdate = time.GetUtcNow(),
            Error = null,
            Size = size,
            DurationMs = status.Composition?.DurationMs,
            Composition = status.Composition?.Id ?? uploading.Composition,
        }, stoppingToken);
        if (complete is null)
        {
            // Canceled while the file went up: no object may outlive a canceled export.
            await storage.DeleteObjectIfPresentAsync(storageOptions.Value.Bucket, name, CancellationToken.None);
            return;
        }
        await queue.ReleaseUserAsync(complete.OwnerId, member);
        LogComplete(export.ProjectId, export.Id, size);
    }

    /// <summary>Ends the attempt: queued again for one more attempt when <paramref name="retry"/> allows, else failed.</summary>
    private async Task EndAsync(string member, Export export, string error, bool retry)
    {
        if (retry)
        {
            await RetryOrFailAsync(export, error, CancellationToken.None);
            return;
        }
        if (await SaveAsync(export with { Status = ExportStatuses.Failed, Error = error, LastUpdate = time.GetUtcNow() }, CancellationToken.None) is { } failed)
        {
            await queue.ReleaseUserAsync(failed.OwnerId, member);
        }
    }

    private async Task RetryOrFailAsync(Export export, string error, CancellationToken cancellationToken)
    {
        var member = ExportQueue.Member(export.ProjectId, export.Id);
        if (export.Attempt < _options.MaxAttempts)
        {
            var queued = await SaveAsync(export with { Status = ExportStatuses.Queued, Progress = 0, Error = error, Attempt = export.Attempt + 1, LastUpdate = time.GetUtcNow() }, cancellationToken);
            if (queued is not null)
            {
                LogRetry(export.ProjectId, export.Id, queued.Attempt, error);
                await queue.EnqueueAsync(member);
            }
            return;
        }
        if (await SaveAsync(export with { Status = ExportStatuses.Failed, Error = $"{error} Gave up after {export.Attempt} attempts.", LastUpdate = time.GetUtcNow() }, cancellationToken) is { } failed)
        {
            await queue.ReleaseUserAsync(failed.OwnerId, member);
        }
    }

    /// <summary>Writes over the version read; <c>null</c> when the record moved on (canceled, or taken by a sweep).</summary>
    private async Task<Export?> SaveAsync(Export export, CancellationToken cancellationToken)
    {
        var saved = await store.TryReplaceAsync(export, cancellationToken);
        if (saved is not null) { await queue.PublishAsync(saved); }
        return saved;
    }

    private async Task CancelQuietlyAsync(HydratedRenderPod pod)
    {
        try
        {
            await renders.CancelAsync(pod, CancellationToken.None);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            // The pod is deleted next either way.
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "An export tick failed; trying again on the next one")]
    private partial void LogTickFailed(Exception exception);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Export {ExportId} of project {ProjectId} is stale (attempt {Attempt})")]
    private partial void LogStale(string projectId, string exportId, int attempt);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Export {ExportId} of project {ProjectId} failed")]
    private partial void LogRenderFailed(Exception exception, string projectId, string exportId);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Export {ExportId} of project {ProjectId} queued again for attempt {Attempt}: {Reason}")]
    private partial void LogRetry(string projectId, string exportId, int attempt, string reason);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "Could not clean up after export {ExportId} of project {ProjectId}")]
    private partial void LogCleanupFailed(Exception exception, string projectId, string exportId);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information, Message = "Export {ExportId} of project {ProjectId} complete: {Size} bytes")]
    private partial void LogComplete(string projectId, string exportId, long size);
}
