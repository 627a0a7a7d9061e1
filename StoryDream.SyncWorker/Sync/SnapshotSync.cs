using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Options;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.SyncWorker.Pods;

namespace StoryDream.SyncWorker.Sync;

/// <summary>
/// Pod to Cloud Storage. Reads the pod's manifest, diffs it against the head tree, fetches in one tar request only the
/// files whose content the head lacks, verifies each against its hash, uploads the blobs that are missing, and commits
/// the pod's tree with the head as parent. The same tree commits nothing. A lost race for the head is rebased and
/// committed again, so concurrent writers make one linear history.
/// </summary>
internal sealed partial class SnapshotSync(
    ISnapshotStore store,
    PodFilesClient pods,
    IOptions<SyncWorkerOptions> options,
    TimeProvider time,
    ILogger<SnapshotSync> logger)
{
    private const int MaxCommitAttempts = 10;
    // Verified files held in memory while their uploads run; one file larger than this still goes, alone.
    private const long UploadBudgetBytes = 128L * 1024 * 1024;
    private readonly SyncWorkerOptions _options = options.Value;

    /// <summary>The snapshot id that is the head once the pod's tree is committed, and the pod's files it does not hold.</summary>
    public async Task<(string SnapshotId, IReadOnlyList<SkippedFile> Skipped)> SyncAsync(string projectId, PodTarget pod, CommitInfo info, TransferStats stats, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(info);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await SyncOnceAsync(projectId, pod, info, stats, cancellationToken);
            }
            catch (ContentChangedException e) when (attempt < _options.ChangedWhileReadingRetries)
            {
                LogChangedWhileReading(projectId, e.Message);
                await Task.Delay(_options.ChangedWhileReadingBackoff * Math.Pow(2, attempt), time, cancellationToken);
            }
        }
    }

    private async Task<(string, IReadOnlyList<SkippedFile>)> SyncOnceAsync(string projectId, PodTarget pod, CommitInfo info, TransferStats stats, CancellationToken cancellationToken)
    {
        // The pod hashes its files while the head is looked up: neither waits for the other.
        var headTask = ReadHeadAsync(projectId, cancellationToken);
        var podTreeTask = pods.GetManifestAsync(pod, cancellationToken);
        await Task.WhenAll(headTask, podTreeTask);
        var (head, headTree) = await headTask;
        var (podTree, skipped) = Admit(headTree, await podTreeTask, _options.MaxProjectBytes);
        if (skipped.Count > 0) { LogSkipped(projectId, skipped.Count); }
        if (podTree.Id == head.SnapshotId) { return (head.SnapshotId, skipped); }

        // Content the head already holds is in Cloud Storage and referenced, so a moved or copied file costs nothing.
        var known = headTree.Entries.Select(e => e.Sha256).ToHashSet(StringComparer.Ordinal);
        var toFetch = podTree.Entries
            .Where(e => !known.Contains(e.Sha256))
            .DistinctBy(e => e.Sha256, StringComparer.Ordinal)
            .ToList();
        await FetchAndUploadAsync(pod, toFetch, () => store.PutManifestAsync(projectId, podTree, cancellationToken), stats, cancellationToken);
        return (await CommitAsync(projectId, head, headTree, podTree, info, cancellationToken), skipped);
    }

    /// <summary>
    /// The tree to save: the pod's, except that a file the pod's manifest left out keeps its version in the head (an
    /// over-large or refused file must not delete what was saved before), and, when the whole would pass
    /// <paramref name="maxProjectBytes"/>, the largest changes stay unsaved (their head version kept) until it fits.
    /// </summary>
    internal static (SnapshotManifest Tree, IReadOnlyList<SkippedFile> Skipped) Admit(SnapshotManifest headTree, PodTree pod, long maxProjectBytes)
    {
        var skipped = new List<SkippedFile>(pod.Skipped);
        var entries = pod.Manifest.Entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        var changed = false;
        foreach (var file in pod.Skipped)
        {
            if (headTree.Find(file.Path) is { } saved) { changed |= entries.TryAdd(file.Path, saved); }
        }
        var total = entries.Values.Sum(e => e.Size);
        if (total > maxProjectBytes)
        {
            var changes = entries.Values
                .Where(e => headTree.Find(e.Path) is not { } saved || saved.Sha256 != e.Sha256)
                .Select(e => (Entry: e, Growth: e.Size - (headTree.Find(e.Path)?.Size ?? 0)))
                .Where(c => c.Growth > 0)
                .OrderByDescending(c => c.Growth)
                .ThenBy(c => c.Entry.Path, SnapshotPath.Order)
                .ToList();
            foreach (var (entry, growth) in changes)
            {
                if (total <= maxProjectBytes) { break; }
                if (headTree.Find(entry.Path) is { } saved) { entries[entry.Path] = saved; }
                else { entries.Remove(entry.Path); }
                total -= growth;
                changed = true;
                skipped.Add(new SkippedFile(entry.Path,
                    $"Saving it ({entry.Size} bytes) would take the project past its limit of {maxProjectBytes} bytes."));
            }
        }
        var tree = changed ? SnapshotManifest.Create(entries.Values) : pod.Manifest;
        return (tree, skipped.Count > PodFilesClient.MaxReportedSkips ? skipped[..PodFilesClient.MaxReportedSkips] : skipped);
    }

    /// <summary>
    /// Streams the files out of the pod's tar and uploads each verified blob while the next ones arrive. Once every file
    /// checked out, <paramref name="afterRead"/> (the manifest's upload) runs alongside the last blobs: a pod whose
    /// files are refused leaves no manifest behind.
    /// </summary>
    private async Task FetchAndUploadAsync(PodTarget pod, List<ManifestEntry> files, Func<Task> afterRead, TransferStats stats, CancellationToken cancellationToken)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var uploads = new BoundedUploads(_options.TransferParallelism, UploadBudgetBytes, failed);
        Exception? readError = null;
        Task? alongside = null;
        try
        {
            await pods.ReadFilesAsync(pod, files, async (entry, content, _) =>
            {
                stats.PodRead(content.Length);
                await uploads.StartAsync(content.Length, async uploadToken =>
                {
                    if (await store.PutKnownBlobAsync(entry.Sha256, content, uploadToken)) { stats.Uploaded(content.Length); }
                });
            }, failed.Token);
            alongside = afterRead();
        }
        catch (Exception e)
        {
            readError = e;
            await failed.CancelAsync();
        }
        var uploadError = await uploads.WaitAllAsync();
        Exception? alongsideError = null;
        try
        {
            if (alongside is not null) { await alongside; }
        }
        catch (Exception e)
        {
            alongsideError = e;
        }
        // A failed upload cancels the read; report the upload's error, not the cancellation it caused.
        if (uploadError is not null && readError is null or OperationCanceledException)
        {
            ExceptionDispatchInfo.Throw(uploadError);
        }
        if (readError is not null) { ExceptionDispatchInfo.Throw(readError); }
        if (alongsideError is not null) { ExceptionDispatchInfo.Throw(alongsideError); }
    }

    private async Task<string> CommitAsync(string projectId, ProjectHead head, SnapshotManifest headTree, SnapshotManifest tree, CommitInfo info, CancellationToken cancellationToken)
    {
        var parent = head.SnapshotId;
        DateTimeOffset? parentVersion = head.Version;
        var parentTree = headTree;
        for (var attempt = 1; ; attempt++)
        {
            var result = await store.CommitAsync(
                new SnapshotCommit(projectId, parent, tree, info.Author, info.Message, info.MessageId, parentVersion), cancellationToken);
            switch (result.Status)
            {
                case CommitStatus.Committed:
                case CommitStatus.Unchanged:
                    return tree.Id;
                case CommitStatus.ProjectNotFound:
                    throw new SyncRefusedException($"Project {projectId} does not exist (it was deleted during the sync).");
                case CommitStatus.Conflict when attempt < MaxCommitAttempts && result.HeadSnapshotId is { } newHead:
                    // Someone else moved the head: put this change on top of theirs. Every blob of the result is in
                    // their tree or was uploaded above.
                    var newHeadTree = await ReadTreeAsync(projectId, newHead, cancellationToken);
                    tree = TreeDiff.Compute(parentTree, tree).ApplyTo(newHeadTree);
                    LogRebased(projectId, parent, newHead);
                    if (tree.Id == newHead) { return newHead; }
                    parent = newHead;
                    parentVersion = null;
                    parentTree = newHeadTree;
                    break;
                default:
                    throw new InvalidOperationException($"Committing to project {projectId} kept conflicting ({attempt} attempts).");
            }
        }
    }

    private async Task<(ProjectHead Head, SnapshotManifest Tree)> ReadHeadAsync(string projectId, CancellationToken cancellationToken)
    {
        var head = await store.ReadHeadAsync(projectId, cancellationToken)
            ?? throw new SyncRefusedException($"Project {projectId} does not exist.");
        return (head, await ReadTreeAsync(projectId, head.SnapshotId, cancellationToken));
    }

    private async Task<SnapshotManifest> ReadTreeAsync(string projectId, string snapshotId, CancellationToken cancellationToken) =>
        await store.ReadTreeAsync(projectId, snapshotId, cancellationToken)
            ?? throw new InvalidManifestException($"The manifest of snapshot {snapshotId} of project {projectId} is missing.");

    [LoggerMessage(EventId = 40, Level = LogLevel.Information, Message = "Project {ProjectId}: a file changed while the pod's files were read; starting over. {Detail}")]
    private partial void LogChangedWhileReading(string projectId, string detail);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning, Message = "Project {ProjectId}: {Count} file(s) of the pod are not saved (refused names or over a byte limit); the rest is")]
    private partial void LogSkipped(string projectId, int count);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "Project {ProjectId}: the head moved from {Parent} to {Head} meanwhile; rebased")]
    private partial void LogRebased(string projectId, string parent, string head);
}
