using System.Diagnostics;
using Google;
using StackExchange.Redis;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Sessions;
using StoryDream.Snapshots;
using StoryDream.SyncWorker.Jobs;
using StoryDream.SyncWorker.Pods;

namespace StoryDream.SyncWorker.Sync;

/// <summary>
/// Runs one batch of a project's jobs: finds the session's pod, then syncs or hydrates, and sorts what went wrong into
/// failures (reported at once) and transient trouble (tried again later).
/// </summary>
internal sealed partial class SyncJobExecutor(
    IConnectionMultiplexer redis,
    SnapshotSync sync,
    Hydration hydration,
    PodFilesClient pods,
    SyncMetrics metrics,
    TimeProvider time,
    ILogger<SyncJobExecutor> logger)
{
    public async Task<JobOutcome> ExecuteAsync(string projectId, IReadOnlyList<PendingJob> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var first = batch[0].Job;
        using var activity = StartActivity(projectId, batch);
        var started = time.GetTimestamp();
        var stats = new TransferStats();
        JobOutcome outcome;
        try
        {
            var pod = first.Reason == SyncReasons.Render && first.Kind == SyncKinds.Hydrate
                ? await FindRenderPodAsync(projectId, first.SessionId, cancellationToken)
                : await FindPodAsync(projectId, first.SessionId, cancellationToken);
            if (first.Kind == SyncKinds.Hydrate)
            {
                outcome = JobOutcome.Done(await hydration.HydrateAsync(projectId, pod, first.SnapshotId, stats, cancellationToken));
            }
            else
            {
                var (snapshotId, skipped) = await sync.SyncAsync(projectId, pod, CommitInfo.For(batch), stats, cancellationToken);
                outcome = JobOutcome.Done(snapshotId, skipped);
                activity?.SetTag("storydream.sync.skipped", skipped.Count);
            }
        }
        catch (SyncRefusedException e)
        {
            outcome = JobOutcome.Failed(e.Message);
        }
        catch (ContentChangedException e)
        {
            outcome = JobOutcome.Failed($"The pod's files kept changing while they were read; the next sync picks them up. {e.Message}");
        }
        catch (InvalidManifestException e)
        {
            outcome = JobOutcome.Failed($"A stored snapshot is unreadable: {e.Message}");
        }
        catch (Exception e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested)
        {
            outcome = JobOutcome.TryLater(e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogUnexpected(first.Kind, projectId, e);
            outcome = JobOutcome.Failed($"Unexpected error: {e.Message}");
        }

        var elapsed = time.GetElapsedTime(started);
        var result = outcome.Succeeded ? "done" : outcome.Retry ? "retry" : "failed";
        activity?.SetTag("storydream.sync.outcome", result);
        activity?.SetTag("storydream.snapshot.id", outcome.SnapshotId);
        if (!outcome.Succeeded) { activity?.SetStatus(ActivityStatusCode.Error, outcome.Error); }
        metrics.RecordRun(first.Kind, result, elapsed, batch.Count);
        metrics.RecordTransfer(stats);
        if (!outcome.Succeeded) { metrics.RecordFailure(first.Kind, outcome.Retry ? "transient" : "refused"); }
        LogRun(first.Kind, projectId, batch.Count, result, outcome.SnapshotId ?? outcome.Error, elapsed.TotalMilliseconds,
            stats.FilesReadFromPod, stats.BytesUploaded, stats.BlobsDownloaded, stats.FilesDeletedFromPod);
        return outcome;
    }

    /// <summary>
    /// A consumer span for the batch, child of the first job's trace (the request that enqueued it) and linked to the
    /// traces of the jobs coalesced with it.
    /// </summary>
    private static Activity? StartActivity(string projectId, IReadOnlyList<PendingJob> batch)
    {
        var contexts = batch.Select(j => ActivityContext.TryParse(j.Job.TraceParent, null, isRemote: true, out var context) ? context : default)
            .Where(context => context != default).ToList();
        var parent = contexts.FirstOrDefault();
        var activity = SyncMetrics.ActivitySource.StartActivity(
            $"{batch[0].Job.Kind} {RedisKeys.SyncJobsStream}", ActivityKind.Consumer, parent,
            links: [.. contexts.Skip(1).Select(context => new ActivityLink(context))]);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.destination.name", RedisKeys.SyncJobsStream);
        activity?.SetTag("messaging.batch.message_count", batch.Count);
        activity?.SetTag("storydream.project.id", projectId);
        activity?.SetTag("storydream.session.id", batch[0].Job.SessionId);
        activity?.SetTag("storydream.sync.reason", batch[0].Job.Reason);
        return activity;
    }

    /// <summary>The session's pod, once it has proven it is that session's: a pod of another session on a reused address is refused.</summary>
    private async Task<PodTarget> FindPodAsync(string projectId, string sessionId, CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        var session = SessionRecord.FromHash(sessionId, await db.HashGetAllAsync(RedisKeys.Session(sessionId)))
            ?? throw new SyncRefusedException($"Session {sessionId} does not exist (it ended, or never started).");
        if (!string.Equals(session.ProjectId, projectId, StringComparison.Ordinal))
        {
            throw new SyncRefusedException($"Session {sessionId} belongs to another project.");
        }
        if (!session.FilesUrl.IsAbsoluteUri || session.FilesUrl.Scheme is not ("http" or "https"))
        {
            throw new SyncRefusedException($"Session {sessionId} has no usable file API address.");
        }
        if (session.PodSecret is not { Length: > 0 } secret)
        {
            throw new SyncRefusedException($"Session {sessionId} has no pod secret, so its pod cannot be told from another.");
        }
        if (await pods.VerifyIdentityAsync(session, cancellationToken) is { } reason)
        {
            LogWrongPod(sessionId, session.FilesUrl, reason);
            await PodIdentity.RefuseAsync(db, session, "sync-worker", reason);
            throw new SyncRefusedException($"The pod at {session.FilesUrl} is not the pod of session {sessionId} ({reason}); nothing was read or written.");
        }
        return new PodTarget(session.FilesUrl, secret);
    }

    /// <summary>A render pod (<c>render:{podId}</c>), once it has proven it is the pod started for that render.</summary>
    private async Task<PodTarget> FindRenderPodAsync(string projectId, string renderId, CancellationToken cancellationToken)
    {
        var fields = (await redis.GetDatabase().HashGetAllAsync(RedisKeys.RenderPod(renderId))).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
        if (!fields.TryGetValue("projectId", out var owner) || !fields.TryGetValue("filesUrl", out var files))
        {
            throw new SyncRefusedException($"Render {renderId} has no pod (it ended, or never started).");
        }
        if (!string.Equals(owner, projectId, StringComparison.Ordinal))
        {
            throw new SyncRefusedException($"Render {renderId} belongs to another project.");
        }
        if (!Uri.TryCreate(files, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw new SyncRefusedException($"Render {renderId} has no usable file API address.");
        }
        if (!fields.TryGetValue("podSecret", out var secret) || secret.Length == 0)
        {
            throw new SyncRefusedException($"Render {renderId} has no pod secret, so its pod cannot be told from another.");
        }
        var pod = new PodTarget(url, secret);
        if (await pods.VerifyIdentityAsync(renderId, pod, cancellationToken) is { } reason)
        {
            LogWrongRenderPod(renderId, url, reason);
            throw new SyncRefusedException($"The pod at {url} is not the pod of render {renderId} ({reason}); nothing was written.");
        }
        return pod;
    }

    private static bool IsTransient(Exception e) => e is PodUnavailableException or GoogleApiException or RedisException
        or FirestoreException or HttpRequestException or TimeoutException or IOException;

    [LoggerMessage(EventId = 30, Level = LogLevel.Information,
        Message = "{Kind} of project {ProjectId} ({Jobs} job(s)): {Outcome} {Detail} in {ElapsedMs:F0} ms; {PodFiles} file(s) read from the pod, {BytesUploaded} bytes uploaded, {Downloaded} blob(s) downloaded, {Deleted} file(s) deleted in the pod")]
    private partial void LogRun(string kind, string projectId, int jobs, string outcome, string? detail, double elapsedMs,
        long podFiles, long bytesUploaded, long downloaded, long deleted);

    [LoggerMessage(EventId = 32, Level = LogLevel.Warning,
        Message = "The pod at {Address} is not the pod of session {SessionId}: {Reason}. Refused; the session is marked for replacement")]
    private partial void LogWrongPod(string sessionId, Uri address, string reason);

    [LoggerMessage(EventId = 35, Level = LogLevel.Warning,
        Message = "The pod at {Address} is not the pod of render {RenderId}: {Reason}. Refused; the render fails")]
    private partial void LogWrongRenderPod(string renderId, Uri address, string reason);

    [LoggerMessage(EventId = 31, Level = LogLevel.Error, Message = "{Kind} of project {ProjectId} failed unexpectedly")]
    private partial void LogUnexpected(string kind, string projectId, Exception exception);
}

/// <summary>How a sync's snapshot is described in the history: by the latest job of the batch, and by the agent if any turn is in it.</summary>
internal sealed record CommitInfo(string Author, string Message, string? MessageId)
{
    public static CommitInfo For(IReadOnlyList<PendingJob> batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var lastTurn = batch.LastOrDefault(j => j.Job.Reason == SyncReasons.AgentTurn)?.Job;
        if (lastTurn is not null)
        {
            return new CommitInfo(SnapshotAuthors.Agent, "Agent turn", lastTurn.MessageId);
        }
        var last = batch[^1].Job;
        var message = last.Reason switch
        {
            SyncReasons.Checkpoint => "Checkpoint",
            SyncReasons.SessionEnd => "Session end",
            SyncReasons.Restore => "Restore",
            _ => "Sync",
        };
        return new CommitInfo(SnapshotAuthors.System, message, last.MessageId);
    }
}
