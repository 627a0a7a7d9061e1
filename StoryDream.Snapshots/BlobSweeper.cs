using System.Collections.Concurrent;
using System.Net;
using Google;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud.Storage;
using StorageObject = Google.Apis.Storage.v1.Data.Object;

namespace StoryDream.Snapshots;

public sealed record SweepReport(int BlobsSeen, int ManifestsRead, int Referenced, int TooYoung, int Deleted)
{
    public override string ToString() =>
        $"blobs: {BlobsSeen}, manifests: {ManifestsRead}, referenced: {Referenced}, within grace period: {TooYoung}, deleted: {Deleted}";
}

/// <summary>
/// Mark and sweep of <c>blobs/</c>: a blob no manifest (project or template) references is deleted, unless it was
/// written within the grace period. Safe while writers run: blobs are listed before manifests, so a manifest written
/// after the listing started can only reference a blob that was fresh then (writers refresh blobs older than half the
/// grace period, and commit within the other half), or one a writer rewrote after the listing, which the deletion's
/// generation precondition spares. The Storage emulator ignores that precondition; the service enforces it.
/// </summary>
public sealed partial class BlobSweeper(
    StorageClient storage, IOptions<StorageOptions> storageOptions, IOptions<SnapshotStoreOptions> options, TimeProvider time, ILogger<BlobSweeper> logger)
{
    private readonly SnapshotStoreOptions _options = options.Value;
    private readonly StorageOptions _storage = storageOptions.Value;

    public async Task<SweepReport> SweepAsync(CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - _options.BlobGracePeriod;
        var candidates = new List<StorageObject>();
        var seen = 0;
        var young = 0;
        await foreach (var blob in storage.ListObjectsAsync(_storage.Bucket, SnapshotObjectNames.BlobPrefix).WithCancellation(cancellationToken))
        {
            seen++;
            if ((blob.UpdatedDateTimeOffset ?? blob.TimeCreatedDateTimeOffset ?? DateTimeOffset.MaxValue) < cutoff) { candidates.Add(blob); }
            else { young++; }
        }

        var manifests = new List<string>();
        foreach (var prefix in new[] { SnapshotObjectNames.RepoPrefix, SnapshotObjectNames.TemplatePrefix })
        {
            await foreach (var item in storage.ListObjectsAsync(_storage.Bucket, prefix).WithCancellation(cancellationToken))
            {
                if (SnapshotObjectNames.ManifestId(item.Name) is not null) { manifests.Add(item.Name); }
            }
        }
        var referenced = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(manifests, parallel, async (name, ct) =>
        {
            using var buffer = new MemoryStream();
            try
            {
                await storage.DownloadObjectAsync(_storage.Bucket, name, buffer, _storage.Download(), ct);
            }
            catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
            {
                return; // Deleted with its project meanwhile.
            }
            foreach (var entry in SnapshotManifest.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)).Entries)
            {
                referenced.TryAdd(entry.Sha256, true);
            }
        });

        var garbage = candidates.Where(blob => !referenced.ContainsKey(blob.Name[SnapshotObjectNames.BlobPrefix.Length..])).ToList();
        var deleted = 0;
        await Parallel.ForEachAsync(garbage, parallel, async (blob, ct) =>
        {
            try
            {
                await storage.DeleteObjectAsync(blob, new DeleteObjectOptions { IfGenerationMatch = blob.Generation }, ct);
                Interlocked.Increment(ref deleted);
            }
            catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.PreconditionFailed)
            {
                // Rewritten by a writer since the listing: it is about to be referenced.
            }
            catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
            {
                // Deleted by another sweep meanwhile.
            }
        });
        var report = new SweepReport(seen, manifests.Count, seen - young - garbage.Count, young, deleted);
        LogSwept(logger, report.ToString());
        return report;
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Blob sweep finished: {Report}")]
    private static partial void LogSwept(ILogger logger, string report);
}
