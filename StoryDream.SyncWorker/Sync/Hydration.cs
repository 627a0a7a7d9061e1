using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using StoryDream.Snapshots;
using StoryDream.SyncWorker.Pods;

namespace StoryDream.SyncWorker.Sync;

/// <summary>
/// Cloud Storage to pod: makes the pod's files equal a snapshot. Files the pod lacks or holds with other content are
/// downloaded, verified against their hash and sent in one streamed tar; files the snapshot does not hold are deleted
/// first (so a file may become a folder and back). The pod's manifest is read again at the end to prove the result.
/// </summary>
internal sealed partial class Hydration(
    ISnapshotStore store,
    PodFilesClient pods,
    IOptions<SyncWorkerOptions> options,
    ILogger<Hydration> logger)
{
    // Bounds the delete requests; the pod refuses path lists longer than its own entry limit.
    private const int DeleteBatchSize = 1000;
    // Downloaded files held while they wait their turn in the tar; one larger file still goes, alone.
    private const long PrefetchBudgetBytes = 128L * 1024 * 1024;
    private readonly SyncWorkerOptions _options = options.Value;

    /// <summary>Hydrates <paramref name="snapshotId"/>, or the head when it is null; returns the snapshot the pod now holds.</summary>
    public async Task<string> HydrateAsync(string projectId, PodTarget pod, string? snapshotId, TransferStats stats, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stats);
        if (snapshotId is not null && !Sha256Hex.IsValid(snapshotId))
        {
            throw new SyncRefusedException($"'{PodTarReader.Printable(snapshotId)}' is not a snapshot id.");
        }
        var target = snapshotId
            ?? await store.GetHeadAsync(projectId, cancellationToken)
            ?? throw new SyncRefusedException($"Project {projectId} does not exist.");
        var tree = await store.ReadTreeAsync(projectId, target, cancellationToken)
            ?? throw new SyncRefusedException($"Snapshot {target} is not in the history of project {projectId}.");
        CheckLimits(tree);

        for (var attempt = 0; ; attempt++)
        {
            var podTree = (await pods.GetManifestAsync(pod, cancellationToken)).Manifest;
            if (podTree.Id == tree.Id) { return target; }
            if (attempt > _options.ChangedWhileReadingRetries)
            {
                throw new ContentChangedException($"The pod's files still differ from snapshot {target} after hydrating it.");
            }
            if (attempt > 0) { LogChangedDuringHydrate(projectId, target); }
            await ApplyAsync(pod, tree, podTree, stats, cancellationToken);
        }
    }

    private async Task ApplyAsync(PodTarget pod, SnapshotManifest tree, SnapshotManifest podTree, TransferStats stats, CancellationToken cancellationToken)
    {
        var toDelete = podTree.Entries.Where(e => !tree.Contains(e.Path)).Select(e => e.Path).ToList();
        foreach (var chunk in toDelete.Chunk(DeleteBatchSize))
        {
            await pods.DeleteFilesAsync(pod, chunk, cancellationToken);
            stats.FilesDeletedFromPod += chunk.Length;
        }

        var toWrite = tree.Entries.Where(e => podTree.Find(e.Path)?.Sha256 != e.Sha256).ToList();
        if (toWrite.Count > 0)
        {
            await pods.WriteFilesAsync(pod, DownloadInOrderAsync(toWrite, stats, cancellationToken), cancellationToken);
            stats.FilesWrittenToPod += toWrite.Count;
            stats.BytesWrittenToPod += toWrite.Sum(e => e.Size);
        }
    }

    /// <summary>
    /// Yields the files in tree order while downloading ahead of the writer, up to the parallelism and the byte budget.
    /// </summary>
    private async IAsyncEnumerable<(ManifestEntry Entry, byte[] Content)> DownloadInOrderAsync(
        IReadOnlyList<ManifestEntry> files, TransferStats stats, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var window = new Queue<(ManifestEntry Entry, Task<byte[]> Download)>();
        long held = 0;
        try
        {
            foreach (var file in files)
            {
                while (window.Count > 0 && (window.Count >= _options.TransferParallelism || held + file.Size > PrefetchBudgetBytes))
                {
                    var (entry, download) = window.Dequeue();
                    var content = await download;
                    held -= entry.Size;
                    yield return (entry, content);
                }
                window.Enqueue((file, DownloadAsync(file, stats, stop.Token)));
                held += file.Size;
            }
            while (window.Count > 0)
            {
                var (entry, download) = window.Dequeue();
                yield return (entry, await download);
            }
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var (_, download) in window)
            {
                // Observed so an abandoned download's failure is not left unobserved.
                await download.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private async Task<byte[]> DownloadAsync(ManifestEntry file, TransferStats stats, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var content = new byte[file.Size];
        await using (var blob = await store.OpenBlobAsync(file.Sha256, cancellationToken))
        {
            await blob.ReadExactlyAsync(content, cancellationToken);
            var extra = new byte[1];
            if (await blob.ReadAsync(extra, cancellationToken) != 0)
            {
                throw new InvalidManifestException($"Blob {file.Sha256} is longer than the {file.Size} bytes its manifest entry '{file.Path}' says.");
            }
        }
        if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(content)), file.Sha256, StringComparison.Ordinal))
        {
            throw new InvalidManifestException($"Blob {file.Sha256} does not hash to its name: Cloud Storage holds corrupt content for '{file.Path}'.");
        }
        stats.Downloaded(content.Length);
        return content;
    }

    private void CheckLimits(SnapshotManifest tree)
    {
        if (tree.FileCount > _options.MaxFiles)
        {
            throw new SyncRefusedException($"The snapshot holds {tree.FileCount} files; the limit is {_options.MaxFiles} files per project.");
        }
        if (tree.Entries.FirstOrDefault(e => e.Size > _options.MaxFileBytes) is { } large)
        {
            throw new SyncRefusedException($"'{large.Path}' is {large.Size} bytes; the limit is {_options.MaxFileBytes} bytes per file.");
        }
    }

    [LoggerMessage(EventId = 50, Level = LogLevel.Warning, Message = "Project {ProjectId}: the pod changed while snapshot {SnapshotId} was hydrated; applying the difference again")]
    private partial void LogChangedDuringHydrate(string projectId, string snapshotId);
}
