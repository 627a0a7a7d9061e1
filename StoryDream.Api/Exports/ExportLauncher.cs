using StoryDream.Api.Downloads;

namespace StoryDream.Api.Exports;

/// <summary>What an export may be encoded as; <see cref="Default"/> when a request names none.</summary>
internal static class ExportCodecs
{
    public const string Default = "h264";

    public static readonly IReadOnlyList<string> All = [Default];

    public static bool IsSupported(string? codec) => codec is null || All.Contains(codec, StringComparer.Ordinal);

    public static string Problem(string field) => $"{field} must be {string.Join(" or ", All.Select(c => $"\"{c}\""))}.";
}

/// <summary>
/// Starts and cancels exports: the one path the studio's <c>POST .../exports</c> and a headless job's export share, so both
/// count against the same per-user limit and are run by the same <see cref="ExportWorker"/>.
/// </summary>
internal sealed class ExportLauncher(IExportStore exports, ExportQueue queue, Microsoft.Extensions.Options.IOptions<ExportOptions> options, TimeProvider time)
{
    public int MaxActivePerUser => options.Value.MaxActivePerUser;

    /// <summary>Records and queues the export; null when its owner already has <see cref="MaxActivePerUser"/> unfinished.</summary>
    public async Task<Export?> TryStartAsync(
        string exportId, string projectId, string ownerId, string snapshotId, string? composition, string codec, int? quality,
        CancellationToken cancellationToken)
    {
        var member = ExportQueue.Member(projectId, exportId);
        if (!await queue.TryReserveAsync(ownerId, member, options.Value.MaxActivePerUser)) { return null; }
        var now = time.GetUtcNow();
        var export = await exports.CreateAsync(new Export(
            exportId, projectId, ownerId, ExportStatuses.Queued, 0, now, snapshotId, composition, codec, quality, null, null, null, 1, null, now, now),
            cancellationToken);
        await queue.EnqueueAsync(member);
        await queue.PublishAsync(export);
        return export;
    }

    /// <summary>
    /// Queues an export found still <c>queued</c> by a caller that resumes after a restart, in case the restart fell between
    /// its record and its queue entry; one already taken by a worker is left alone.
    /// </summary>
    public Task EnsureQueuedAsync(Export export)
    {
        ArgumentNullException.ThrowIfNull(export);
        return export.Status == ExportStatuses.Queued ? queue.EnqueueUnlessActiveAsync(ExportQueue.Member(export.ProjectId, export.Id)) : Task.CompletedTask;
    }

    /// <summary>
    /// Cancels the export: a queued one at once; a running one is marked canceled here, and its worker stops the render pod
    /// within one poll and deletes anything it uploaded. Returns the export as it ends up (final already: unchanged), or
    /// null when it is gone.
    /// </summary>
    public async Task<Export?> CancelAsync(Export export, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(export);
        while (!ExportStatuses.IsFinal(export.Status))
        {
            if (await exports.TryReplaceAsync(export with { Status = ExportStatuses.Canceled, LastUpdate = time.GetUtcNow() }, cancellationToken) is { } canceled)
            {
                var member = ExportQueue.Member(export.ProjectId, export.Id);
                await queue.DequeueAsync(member);
                await queue.ReleaseUserAsync(export.OwnerId, member);
                await queue.PublishAsync(canceled);
                return canceled;
            }
            // Changed meanwhile (progress, or its end): look again.
            if (await exports.GetAsync(export.ProjectId, export.Id, cancellationToken) is not { } current) { return null; }
            export = current;
        }
        return export;
    }

    /// <summary>A short-lived link to a complete export's MP4, for its owner (the one <c>GET .../download</c> redirects to).</summary>
    public static Task<DownloadLink> DownloadLinkAsync(IDownloadLinks links, Export export, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(links);
        ArgumentNullException.ThrowIfNull(export);
        return links.CreateAsync(export.OwnerId, export.ProjectId, Export.ObjectName(export.ProjectId, export.Id), $"{export.Id}.mp4", cancellationToken);
    }
}
