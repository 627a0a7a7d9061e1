using StoryDream.Sessions;

namespace StoryDream.SyncWorker.Jobs;

/// <summary>
/// How a batch of jobs ended. <see cref="Retry"/> leaves the jobs unacknowledged for a later try (another worker
/// claims them once idle); otherwise they are acknowledged with a <c>done</c> or <c>failed</c> event.
/// </summary>
internal sealed record JobOutcome(bool Succeeded, string? SnapshotId, string? Error, bool Retry, IReadOnlyList<SkippedFile>? Skipped = null)
{
    public static JobOutcome Done(string snapshotId, IReadOnlyList<SkippedFile>? skipped = null) =>
        new(true, snapshotId, null, false, skipped is { Count: > 0 } ? skipped : null);

    public static JobOutcome Failed(string error) => new(false, null, error, false);

    public static JobOutcome TryLater(string error) => new(false, null, error, true);
}
