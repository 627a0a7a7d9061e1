using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Snapshots;

/// <summary>The one implementation of <see cref="ISnapshotStore"/>: Cloud Storage for content, Firestore for history and heads.</summary>
public sealed partial class SnapshotStore : ISnapshotStore, IDisposable
{
    private readonly FirestoreClient _firestore;
    private readonly StorageClient _storage;
    private readonly StorageOptions _storageOptions;
    private readonly SnapshotStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly MemoryCache _manifests;

    public SnapshotStore(FirestoreClient firestore, StorageClient storage, IOptions<StorageOptions> storageOptions, IOptions<SnapshotStoreOptions> options,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(firestore);
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(storageOptions);
        ArgumentNullException.ThrowIfNull(options);
        _firestore = firestore;
        _storage = storage;
        _storageOptions = storageOptions.Value;
        _options = options.Value;
        _time = time ?? TimeProvider.System;
        _manifests = new MemoryCache(new MemoryCacheOptions { SizeLimit = Math.Max(1, _options.ManifestCacheEntries) });
    }

    private string Bucket => _storageOptions.Bucket;

    public void Dispose() => _manifests.Dispose();
}
