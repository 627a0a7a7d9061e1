using System.ComponentModel.DataAnnotations;

namespace StoryDream.Snapshots;

/// <summary>Settings of the snapshot store, bound from <c>Snapshots</c>. The bucket is the storage client's.</summary>
public sealed class SnapshotStoreOptions : IValidatableObject
{
    public const string SectionName = "Snapshots";

    /// <summary>
    /// The sweep never deletes a blob written or refreshed more recently than this. Writers refresh an existing
    /// blob older than half of it before relying on it, and must commit within the other half.
    /// </summary>
    public TimeSpan BlobGracePeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Parsed manifests kept in memory; they are immutable, so a cached one is never stale.</summary>
    [Range(0, 100_000)]
    public int ManifestCacheEntries { get; set; } = 512;

    /// <summary>Concurrent Cloud Storage requests of one bulk operation (seeding, deleting, sweeping).</summary>
    [Range(1, 64)]
    public int Parallelism { get; set; } = 8;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (BlobGracePeriod < TimeSpan.FromMinutes(1))
        {
            yield return new ValidationResult("Snapshots:BlobGracePeriod must be at least one minute.", [nameof(BlobGracePeriod)]);
        }
    }
}
