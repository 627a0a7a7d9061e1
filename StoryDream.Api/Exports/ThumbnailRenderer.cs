using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Google.Cloud.Storage.V1;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Api.Exports;

internal sealed class ThumbnailOptions
{
    public const string SectionName = "Thumbnails";

    /// <summary>Whether agent turns refresh the project's thumbnail.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How long a request waits for a newer one before its still is rendered: turns in a burst cost one render.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan Debounce { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The frame shown: the template's title is on screen from the first second.</summary>
    [System.ComponentModel.DataAnnotations.Range(0, 100_000)]
    public int Frame { get; set; } = 45;
}

/// <summary>
/// Renders <c>assets/{projectId}/thumbnail.png</c> after agent turns. <see cref="Request"/> only records the newest
/// snapshot per project and returns, so a chat never waits on it; one still renders at a time, in a render pod of its own,
/// and a project whose snapshot moved on while its still rendered is rendered again with the newest.
/// </summary>
internal sealed partial class ThumbnailRenderer(
    RenderPods pods,
    RenderPodClient renders,
    StorageClient storage,
    IOptions<StorageOptions> storageOptions,
    IOptions<ThumbnailOptions> options,
    IOptions<ExportOptions> exportOptions,
    TimeProvider time,
    ILogger<ThumbnailRenderer> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, (string SnapshotId, DateTimeOffset At)> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _signal = new(0);

    public static string ObjectName(string projectId) => $"assets/{projectId}/thumbnail.png";

    public void Request(string projectId, string snapshotId)
    {
        if (!options.Value.Enabled) { return; }
        _pending[projectId] = (snapshotId, time.GetUtcNow());
        _signal.Release();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await _signal.WaitAsync(stoppingToken);
                foreach (var projectId in _pending.Keys)
                {
                    if (!_pending.TryGetValue(projectId, out var request)) { continue; }
                    var wait = request.At + options.Value.Debounce - time.GetUtcNow();
                    if (wait > TimeSpan.Zero) { await Task.Delay(wait, time, stoppingToken); }
                    // Newest wins: a request that came in during the wait replaced this one and is taken instead.
                    if (!_pending.TryRemove(projectId, out request)) { continue; }
                    await RenderAsync(projectId, request.SnapshotId, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RenderAsync(string projectId, string snapshotId, CancellationToken stoppingToken)
    {
        var started = time.GetTimestamp();
        string? podId = null;
        try
        {
            podId = await pods.NewPodIdAsync(stoppingToken);
            var pod = await pods.StartAsync(podId, projectId, snapshotId, exportOptions.Value.StartTimeout, stoppingToken);
            await renders.StartAsync(pod, new RenderRequest("still", null, Frame: options.Value.Frame, SnapshotId: snapshotId), stoppingToken);
            RenderStatus status;
            do
            {
                await Task.Delay(exportOptions.Value.PollInterval, time, stoppingToken);
                status = await renders.StatusAsync(pod, stoppingToken);
            }
            while (status.State is "idle" or "bundling" or "rendering" && time.GetElapsedTime(started) < exportOptions.Value.StartTimeout);
            if (status.State != "complete")
            {
                LogFailed(projectId, snapshotId, status.Error ?? $"still {status.State}");
                return;
            }
            using var output = await renders.OpenOutputAsync(pod, stoppingToken);
            await using var stream = await output.Content.ReadAsStreamAsync(stoppingToken);
            await storage.UploadObjectAsync(
                new Google.Apis.Storage.v1.Data.Object
                {
                    Bucket = storageOptions.Value.Bucket,
                    Name = ObjectName(projectId),
                    ContentType = "image/png",
                    Metadata = new Dictionary<string, string> { ["snapshotId"] = snapshotId },
                },
                stream, storageOptions.Value.Upload(), stoppingToken);
            LogRendered(projectId, snapshotId, time.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            LogFailed(projectId, snapshotId, e.Message);
        }
        finally
        {
            if (podId is not null) { await pods.DeleteAsync(podId); }
        }
    }

    public override void Dispose()
    {
        _signal.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Thumbnail of project {ProjectId} rendered from snapshot {SnapshotId} in {ElapsedMs:F0} ms")]
    private partial void LogRendered(string projectId, string snapshotId, double elapsedMs);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Thumbnail of project {ProjectId} from snapshot {SnapshotId} failed: {Error}")]
    private partial void LogFailed(string projectId, string snapshotId, string error);
}
