using System.ComponentModel.DataAnnotations;

namespace StoryDream.SyncWorker;

/// <summary>Settings of the sync worker, bound from <c>SyncWorker</c> and validated on start.</summary>
public sealed class SyncWorkerOptions : IValidatableObject
{
    public const string SectionName = "SyncWorker";

    /// <summary>Name of this worker in the consumer group; defaults to the host name and process id, unique per process.</summary>
    public string? ConsumerName { get; set; }

    /// <summary>A file larger than this is not saved (its last saved version stays) and is reported in the job's event.</summary>
    [Range(1, long.MaxValue)]
    public long MaxFileBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>
    /// A project's saved files add up to at most this many bytes. A sync that would pass it leaves the largest changes
    /// unsaved (their last saved version stays) and reports them; the rest is saved.
    /// </summary>
    [Range(1, long.MaxValue)]
    public long MaxProjectBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>A tree with more files than this fails the job.</summary>
    [Range(1, 50_000)]
    public int MaxFiles { get; set; } = 20_000;

    /// <summary>Entries left unacknowledged this long (their worker died) are claimed by another worker.</summary>
    public TimeSpan ClaimIdleTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often pending entries are checked for ones to claim.</summary>
    public TimeSpan ClaimInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one blocking read of the stream waits for new entries before the loop looks around again.</summary>
    public TimeSpan ReadBlockTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Entries taken from the stream (or claimed) at once.</summary>
    [Range(1, 1000)]
    public int ReadBatchSize { get; set; } = 32;

    /// <summary>
    /// Life of a project lock without renewal: a worker that dies holding one blocks the project this long at most.
    /// It is renewed every third of it while the run goes on.
    /// </summary>
    public TimeSpan LockTime { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A job delivered this many times without completing (each try ended by a crash or a transient error) is dead-lettered.</summary>
    [Range(1, 1000)]
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>Projects this worker runs at once; beyond that it reads no new entries until one finishes.</summary>
    [Range(1, 256)]
    public int MaxConcurrentProjects { get; set; } = 8;

    /// <summary>Concurrent Cloud Storage transfers of one job.</summary>
    [Range(1, 64)]
    public int TransferParallelism { get; set; } = 8;

    /// <summary>Times a sync starts over when a file changed between the pod's manifest and its read (the agent was still writing).</summary>
    [Range(0, 10)]
    public int ChangedWhileReadingRetries { get; set; } = 4;

    /// <summary>Wait before the first start-over, doubled for each next one, so a burst of writes can settle (0.1 + 0.2 + 0.4 + 0.8 s by default).</summary>
    public TimeSpan ChangedWhileReadingBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Limit on one call to a pod's file API; reads and writes of whole trees get this much in total.</summary>
    public TimeSpan PodRequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ClaimIdleTime < TimeSpan.FromMilliseconds(100))
        {
            yield return new ValidationResult("SyncWorker:ClaimIdleTime must be at least 100 ms.", [nameof(ClaimIdleTime)]);
        }
        if (ClaimInterval < TimeSpan.FromMilliseconds(50))
        {
            yield return new ValidationResult("SyncWorker:ClaimInterval must be at least 50 ms.", [nameof(ClaimInterval)]);
        }
        if (ReadBlockTime < TimeSpan.FromMilliseconds(10) || ReadBlockTime > TimeSpan.FromSeconds(4))
        {
            // Between reads the loop claims idle jobs and sees a shutdown: a longer block would delay both.
            yield return new ValidationResult("SyncWorker:ReadBlockTime must be between 10 ms and 4 s.", [nameof(ReadBlockTime)]);
        }
        if (LockTime < TimeSpan.FromMilliseconds(300))
        {
            yield return new ValidationResult("SyncWorker:LockTime must be at least 300 ms.", [nameof(LockTime)]);
        }
        if (PodRequestTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult("SyncWorker:PodRequestTimeout must be positive.", [nameof(PodRequestTimeout)]);
        }
        if (ConsumerName is { } name && (name.Length is 0 or > 200 || name.Any(char.IsWhiteSpace)))
        {
            yield return new ValidationResult("SyncWorker:ConsumerName must be 1 to 200 characters without spaces.", [nameof(ConsumerName)]);
        }
    }
}
