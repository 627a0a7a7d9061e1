using System.Net;
using System.Runtime.InteropServices;
using Google;
using Microsoft.Extensions.Caching.Memory;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Snapshots;

public sealed partial class SnapshotStore
{
    private const string ManifestContentType = "application/json";
    private const string BlobContentType = "application/octet-stream";
    // A writer that names its content by hash has it because its tree lacks it, so it is almost always new: up to this
    // size one upload costs about what asking first would, and asking first is a request more on the sync's path.
    private const int UploadWithoutAskingBytes = 64 * 1024;

    public async Task<string> PutBlobAsync(ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var sha256 = Sha256Hex.Of(content.Span);
        await UploadBlobIfStaleAsync(sha256, content, cancellationToken);
        return sha256;
    }

    public async Task<bool> PutKnownBlobAsync(string sha256, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        if (!string.Equals(Sha256Hex.Of(content.Span), sha256, StringComparison.Ordinal))
        {
            throw new InvalidManifestException($"The content given for blob {sha256} does not hash to it.");
        }
        if (content.Length <= UploadWithoutAskingBytes)
        {
            // Content-addressed, so writing it again is harmless (and refreshes it for the sweep).
            await UploadAsync(SnapshotObjectNames.Blob(sha256), content, BlobContentType, cancellationToken);
            return true;
        }
        return await UploadBlobIfStaleAsync(sha256, content, cancellationToken);
    }

    private async Task<bool> UploadBlobIfStaleAsync(string sha256, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var name = SnapshotObjectNames.Blob(sha256);
        if (await IsFreshAsync(name, content.Length, cancellationToken)) { return false; }
        // Content-addressed: a second writer of the same bytes writes the same object, so racing writes are harmless.
        await UploadAsync(name, content, BlobContentType, cancellationToken);
        return true;
    }

    public Task DownloadBlobAsync(string sha256, Stream destination, CancellationToken cancellationToken)
    {
        if (!Sha256Hex.IsValid(sha256)) { throw new ArgumentException("Not a SHA-256 hex digest.", nameof(sha256)); }
        ArgumentNullException.ThrowIfNull(destination);
        return _storage.DownloadObjectAsync(Bucket, SnapshotObjectNames.Blob(sha256), destination, _storageOptions.Download(), cancellationToken);
    }

    public async Task<byte[]> ReadBlobAsync(string sha256, long size, CancellationToken cancellationToken)
    {
        if (!Sha256Hex.IsValid(sha256)) { throw new ArgumentException("Not a SHA-256 hex digest.", nameof(sha256)); }
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        // Room for exactly the expected size; a longer blob still arrives whole, so it can be refused.
        using var buffer = new MemoryStream(checked((int)size));
        // The SHA-256 below checks every byte against the name, so the transfer's CRC-32C is not computed as well.
        await _storage.DownloadObjectAsync(Bucket, SnapshotObjectNames.Blob(sha256), buffer, StorageOptions.DownloadCheckedByCaller(), cancellationToken);
        if (buffer.Length != size)
        {
            throw new InvalidManifestException($"Blob {sha256} holds {buffer.Length} bytes, not {size}.");
        }
        var content = buffer.Capacity == buffer.Length ? buffer.GetBuffer() : buffer.ToArray();
        if (!string.Equals(Sha256Hex.Of(content), sha256, StringComparison.Ordinal))
        {
            throw new InvalidManifestException($"Blob {sha256} does not hash to its name: Cloud Storage holds corrupt content.");
        }
        return content;
    }

    /// <summary>
    /// Stores a template's tree: when its manifest is there, so are its blobs (they are written first); otherwise the
    /// blobs are uploaded where missing, then the manifest. Seeding at every start is therefore one request.
    /// </summary>
    public async Task WriteTemplateAsync(string templateId, IReadOnlyDictionary<string, ReadOnlyMemory<byte>> files, SnapshotManifest manifest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(manifest);
        var name = SnapshotObjectNames.TemplateManifest(templateId, manifest.Id);
        if (await GetObjectOrNullAsync(name, cancellationToken) is null)
        {
            await Parallel.ForEachAsync(manifest.Entries, new ParallelOptions { MaxDegreeOfParallelism = _options.Parallelism, CancellationToken = cancellationToken },
                async (entry, ct) =>
                {
                    var content = files[entry.Path];
                    if (!string.Equals(Sha256Hex.Of(content.Span), entry.Sha256, StringComparison.Ordinal))
                    {
                        throw new InvalidManifestException($"The content of '{entry.Path}' does not match its manifest entry.");
                    }
                    await PutBlobAsync(content, ct);
                });
            await UploadAsync(name, manifest.CanonicalJson, ManifestContentType, cancellationToken);
        }
        _manifests.Set(manifest.Id, manifest, ManifestCacheEntry);
    }

    public async Task PutManifestAsync(string projectId, SnapshotManifest tree, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tree);
        await UploadAsync(SnapshotObjectNames.ProjectManifest(projectId, tree.Id), tree.CanonicalJson, ManifestContentType, cancellationToken);
        _manifests.Set(tree.Id, tree, ManifestCacheEntry);
        _manifests.Set(new ManifestWrittenKey(projectId, tree.Id), true, ManifestCacheEntry);
    }

    /// <summary>
    /// Cache key of a project's manifest known to be written by this store (only deleting the project's history removes
    /// it). Forgetting one costs a second upload of the same bytes, never a missing manifest.
    /// </summary>
    private readonly record struct ManifestWrittenKey(string ProjectId, string SnapshotId);

    /// <summary>Reads and checks a manifest: its content must hash to the id it is stored under.</summary>
    private async Task<SnapshotManifest?> ReadManifestAsync(string objectName, string snapshotId, CancellationToken cancellationToken)
    {
        if (_manifests.TryGetValue(snapshotId, out SnapshotManifest? cached)) { return cached; }
        using var buffer = new MemoryStream();
        try
        {
            // The manifest must hash to its id (checked below), which is stronger than the transfer's CRC-32C.
            await _storage.DownloadObjectAsync(Bucket, objectName, buffer, StorageOptions.DownloadCheckedByCaller(), cancellationToken);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        var manifest = SnapshotManifest.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        if (manifest.Id != snapshotId)
        {
            throw new InvalidManifestException($"gs://{Bucket}/{objectName} holds snapshot {manifest.Id}, not {snapshotId}.");
        }
        _manifests.Set(snapshotId, manifest, ManifestCacheEntry);
        return manifest;
    }

    /// <summary>
    /// True when the blob exists with the expected size and was written within half the grace period: the sweep cannot
    /// take it before this writer commits. An older blob is rewritten, which refreshes it.
    /// </summary>
    private async Task<bool> IsFreshAsync(string name, long size, CancellationToken cancellationToken)
    {
        if (await GetObjectOrNullAsync(name, cancellationToken) is not { } existing) { return false; }
        var written = existing.UpdatedDateTimeOffset ?? existing.TimeCreatedDateTimeOffset;
        return existing.Size == (ulong)size && written is { } at && _time.GetUtcNow() - at < _options.BlobGracePeriod / 2;
    }

    private async Task<Google.Apis.Storage.v1.Data.Object?> GetObjectOrNullAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await _storage.GetObjectAsync(Bucket, name, cancellationToken: cancellationToken);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task UploadAsync(string name, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken)
    {
        using var source = MemoryMarshal.TryGetArray(content, out var array)
            ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);
        await _storage.UploadObjectAsync(Bucket, name, contentType, source, _storageOptions.Upload(), cancellationToken);
    }

    private static MemoryCacheEntryOptions ManifestCacheEntry { get; } = new() { Size = 1 };
}
