using Microsoft.Extensions.Options;
using StoryDream.Sessions;
using StoryDream.SyncWorker.Sync;

namespace StoryDream.SyncWorker.Jobs;

/// <summary>
/// Runs a project's pending jobs while holding its lock. Each round takes every job waiting at that moment: a run of
/// consecutive syncs of one session becomes a single sync (the pod's tree read after they were all enqueued covers
/// every one of them); a hydrate runs on its own, in stream order. Jobs are acknowledged only after the round's commit.
/// </summary>
internal sealed partial class ProjectRunner(
    SyncJobQueue queue,
    ProjectLock projectLock,
    SyncJobExecutor executor,
    IOptions<SyncWorkerOptions> options,
    TimeProvider time,
    ILogger<ProjectRunner> logger)
{
    private readonly SyncWorkerOptions _options = options.Value;

    /// <summary>Null when the project's jobs were all handled (or handed back for a retry); else how long the lock stays taken by someone else.</summary>
    public async Task<TimeSpan?> RunAsync(string projectId, string consumer, CancellationToken cancellationToken)
    {
        var token = await projectLock.TryAcquireAsync(projectId, _options.LockTime);
        if (token is null)
        {
            return await projectLock.RemainingAsync(projectId);
        }

        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var keepAlive = KeepAliveAsync(projectId, consumer, token, run);
        var release = true;
        try
        {
            while (true)
            {
                var pending = await queue.PendingAsync(projectId);
                if (pending.Count == 0)
                {
                    var outcome = await projectLock.ReleaseIfIdleAsync(projectId, token);
                    if (outcome == ProjectLock.ReleaseOutcome.MoreWork) { continue; }
                    release = false;
                    return null;
                }

                var batch = NextBatch(pending);
                await queue.TouchAsync(consumer, [.. batch.Select(j => j.EntryId)]);
                var result = await executor.ExecuteAsync(projectId, batch, run.Token);
                if (result.Retry)
                {
                    LogRetryLater(projectId, batch.Count, result.Error);
                    return null;
                }
                if (!await queue.CompleteAsync(projectId, token, [.. batch.Select(j => (j.EntryId, EventFor(j.Job, result)))]))
                {
                    // Someone else holds the lock now: it runs these jobs again (finding the tree committed) and announces them.
                    LogLockLost(projectId);
                    release = false;
                    return null;
                }
            }
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The lock was lost (this process stalled past its expiry): whoever holds it now runs the jobs.
            LogLockLost(projectId);
            release = false;
            return null;
        }
        finally
        {
            await run.CancelAsync();
            await keepAlive;
            if (release)
            {
                await projectLock.ReleaseAsync(projectId, token);
            }
        }
    }

    /// <summary>Consecutive syncs of the first job's session, or a single hydrate.</summary>
    internal static IReadOnlyList<PendingJob> NextBatch(IReadOnlyList<PendingJob> pending)
    {
        var first = pending[0];
        if (first.Job.Kind != SyncKinds.Sync) { return [first]; }
        return [.. pending.TakeWhile(j => j.Job.Kind == SyncKinds.Sync && j.Job.SessionId == first.Job.SessionId)];
    }

    private static SyncEvent EventFor(SyncJob job, JobOutcome result) => result.Succeeded
        ? new SyncEvent(job.JobId, job.ProjectId, SyncEvent.Done, result.SnapshotId, Skipped: result.Skipped)
        : new SyncEvent(job.JobId, job.ProjectId, SyncEvent.Failed, Error: result.Error);

    /// <summary>
    /// Renews the lock every third of its life and touches the project's waiting entries, so no other worker claims
    /// them as abandoned while this one is alive. Cancels the run when the lock turns out to be someone else's.
    /// </summary>
    private async Task KeepAliveAsync(string projectId, string consumer, string token, CancellationTokenSource run)
    {
        using var timer = new PeriodicTimer(_options.LockTime / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(run.Token))
            {
                if (!await projectLock.RenewAsync(projectId, token, _options.LockTime))
                {
                    await run.CancelAsync();
                    return;
                }
                var pending = await queue.PendingAsync(projectId);
                await queue.TouchAsync(consumer, [.. pending.Select(j => j.EntryId)]);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            // Redis is away: the lock may lapse, and the commit's parent check keeps the history linear regardless.
            LogKeepAliveFailed(projectId, e);
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "Project {ProjectId}: {Count} job(s) left for a later try: {Error}")]
    private partial void LogRetryLater(string projectId, int count, string? error);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Project {ProjectId}: the lock was lost during a run; its holder takes over")]
    private partial void LogLockLost(string projectId);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Project {ProjectId}: renewing the lock failed")]
    private partial void LogKeepAliveFailed(string projectId, Exception exception);
}
