using System.Collections.Concurrent;
using StoryDream.GoogleCloud.Firestore;

namespace StoryDream.Api.Headless;

public static class JobStatuses
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Complete = "complete";
    public const string Failed = "failed";
}

/// <summary>The phases a job moves through, in order; it ends in <see cref="Complete"/> or <see cref="Failed"/>.</summary>
public static class JobPhases
{
    public const string Queued = "queued";
    public const string Starting = "starting";
    public const string AgentRunning = "agent_running";
    public const string Syncing = "syncing";
    public const string Exporting = "exporting";
    public const string Complete = "complete";
    public const string Failed = "failed";
}

/// <summary>
/// <c>headlessJobs/{jobId}</c>: who asked (ownerId, clientId, clientName), the project, the requirements, where it is
/// (status, phase, phaseTimes: the time each phase began), the two chat messages it writes (ids chosen at creation, so a
/// resumed job rewrites them rather than adding more), whether it started the session itself (then it stops it), its
/// one-off webhook, its deadline, the export asked for (exportCodec; exportId is chosen, and stored, before the export is
/// started, so a resumed job waits for that export instead of starting another), and the result (snapshotId, reply) or error.
/// </summary>
internal sealed record JobDocument(
    string OwnerId,
    string? ClientId,
    string? ClientName,
    string ProjectId,
    bool NewProject,
    string Requirements,
    string Status,
    string Phase,
    IReadOnlyDictionary<string, DateTimeOffset> PhaseTimes,
    string UserMessageId,
    string AssistantMessageId,
    string? WebhookId,
    DateTimeOffset CreatedAt,
    DateTimeOffset Deadline,
    int Attempts = 0,
    bool StartedSession = false,
    string? SnapshotId = null,
    string? Reply = null,
    string? Error = null,
    DateTimeOffset? FinishedAt = null,
    string? ExportCodec = null,
    string? ExportId = null)
{
    public bool IsFinished => Status is JobStatuses.Complete or JobStatuses.Failed;

    public JobDocument Enter(string phase, DateTimeOffset at) => this with
    {
        Phase = phase,
        Status = phase switch
        {
            JobPhases.Queued => JobStatuses.Queued,
            JobPhases.Complete => JobStatuses.Complete,
            JobPhases.Failed => JobStatuses.Failed,
            _ => JobStatuses.Running,
        },
        PhaseTimes = new Dictionary<string, DateTimeOffset>(PhaseTimes, StringComparer.Ordinal) { [phase] = at },
        FinishedAt = phase is JobPhases.Complete or JobPhases.Failed ? at : FinishedAt,
    };
}

/// <summary>Jobs in Firestore. One runner works on a job at a time (its lock), so whole-document writes do not race.</summary>
internal sealed class HeadlessJobStore(FirestoreClient firestore, TimeProvider time)
{
    public const string Collection = "headlessJobs";
    public const int MaxListed = 100;
    private static readonly TimeSpan CreatedLifetime = TimeSpan.FromMinutes(1);

    // Jobs this process just created, so its runner starts them without reading back what was written a moment ago.
    // A job another process runs is read from Firestore; its entry here then ages out.
    private readonly ConcurrentDictionary<string, (JobDocument Job, DateTimeOffset At)> _created = new(StringComparer.Ordinal);

    private static string Path(string jobId) => $"{Collection}/{jobId}";

    /// <summary>Creates the job and, in the same commit, <paramref name="alongside"/> (all or nothing).</summary>
    public async Task CreateAsync(string jobId, JobDocument job, IEnumerable<Write> alongside, CancellationToken cancellationToken)
    {
        await firestore.CommitAsync([Write.Create(Path(jobId), job), .. alongside], cancellationToken);
        var now = time.GetUtcNow();
        foreach (var (id, created) in _created)
        {
            if (now - created.At > CreatedLifetime) { _created.TryRemove(id, out _); }
        }
        _created[jobId] = (job, now);
    }

    /// <summary>The job as this process created it, if it did and has not taken it yet; taken once.</summary>
    public JobDocument? TakeCreated(string jobId) => _created.TryRemove(jobId, out var created) ? created.Job : null;

    public async Task<JobDocument?> GetAsync(string jobId, CancellationToken cancellationToken) =>
        IsId(jobId) ? (await firestore.GetAsync<JobDocument>(Path(jobId), cancellationToken))?.Data : null;

    /// <summary>The owner's job, or null when it is missing or someone else's (the same answer: 404).</summary>
    public async Task<JobDocument?> FindAsync(string ownerId, string jobId, CancellationToken cancellationToken) =>
        await GetAsync(jobId, cancellationToken) is { } job && job.OwnerId == ownerId ? job : null;

    /// <summary>Saves the job and, in the same commit, <paramref name="alongside"/> (all or nothing).</summary>
    public async Task SaveAsync(string jobId, JobDocument job, IReadOnlyCollection<Write> alongside, CancellationToken cancellationToken)
    {
        if (alongside.Count == 0)
        {
            await firestore.SetAsync(Path(jobId), job, cancellationToken: cancellationToken);
            return;
        }
        await firestore.CommitAsync([Write.Set(Path(jobId), job), .. alongside], cancellationToken);
    }

    /// <summary>The owner's jobs of one project, newest first (a composite index ownerId, projectId, createdAt desc in production).</summary>
    public async Task<IReadOnlyList<FirestoreDocument<JobDocument>>> ListAsync(string ownerId, string projectId, CancellationToken cancellationToken) =>
        await firestore.RunQueryAsync<JobDocument>(StructuredQuery.Collection(Collection)
            .Where("ownerId", QueryOperator.Equal, ownerId)
            .Where("projectId", QueryOperator.Equal, projectId)
            .OrderByDescending("createdAt")
            .Limit(MaxListed), cancellationToken);

    public static bool IsId(string id) => id.Length == 36 && Guid.TryParseExact(id, "D", out var parsed) && parsed.ToString("D") == id;
}
