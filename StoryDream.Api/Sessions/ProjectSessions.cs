using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.Api.Projects;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>What project operations need of a project's live session, done through the <see cref="SessionManager"/>.</summary>
internal sealed class ProjectSessions(SessionManager sessions, SyncJobs syncJobs, IConnectionMultiplexer redis, IOptions<SessionOptions> options) : IProjectSessions
{
    public async Task<IAsyncDisposable?> BeginRestoreAsync(string projectId, CancellationToken cancellationToken)
    {
        // The chat's turn lock: a turn running now refuses the restore, and no turn starts until it is done.
        var holder = "restore-" + Guid.NewGuid().ToString("N");
        var lockTime = options.Value.StopSyncTimeout + options.Value.StartTimeout;
        var db = redis.GetDatabase();
        if (!await db.LockTakeAsync(Chat.ChatTurns.LockKey(projectId), holder, lockTime)) { return null; }
        var release = new TurnLockRelease(db, projectId, holder);
        try
        {
            if (await sessions.GetAsync(projectId) is { Status: SessionStatus.Ready } session)
            {
                // The pod's unsaved work becomes a version first, so the restore cannot wipe it.
                var job = new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Sync, projectId, session.SessionId, SyncReasons.Checkpoint);
                var result = await syncJobs.RunAsync(job, options.Value.StopSyncTimeout, cancellationToken);
                if (result.Status != SyncEvent.Done && await sessions.ReadAsync(session.SessionId) is { ReplaceReason: not null } marked)
                {
                    // Its address led to another session's pod: nothing of this session can be saved from there, so the
                    // session goes and the restore goes on without it (the next session starts from the restored head).
                    await sessions.DiscardAsync(marked, cancellationToken);
                }
                else if (result.Status != SyncEvent.Done)
                {
                    await release.DisposeAsync();
                    return null;
                }
            }
            return release;
        }
        catch
        {
            await release.DisposeAsync();
            throw;
        }
    }

    private sealed class TurnLockRelease(IDatabase db, string projectId, string holder) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await db.LockReleaseAsync(Chat.ChatTurns.LockKey(projectId), holder);
    }

    public async Task DiscardAsync(string projectId, CancellationToken cancellationToken)
    {
        // Starting or not: the project is going, and nothing of its pod is worth a final sync.
        if (await sessions.GetAsync(projectId) is { } session)
        {
            await sessions.DiscardAsync(session, cancellationToken);
        }
    }

    public async Task HeadMovedAsync(string projectId, string snapshotId, CancellationToken cancellationToken)
    {
        if (await sessions.GetAsync(projectId) is not { Status: SessionStatus.Ready } session) { return; }
        var job = new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Hydrate, projectId, session.SessionId, SyncReasons.Restore, SnapshotId: snapshotId);
        var result = await syncJobs.RunAsync(job, options.Value.StartTimeout, cancellationToken);
        if (result.Status != SyncEvent.Done && await sessions.ReadAsync(session.SessionId) is { ReplaceReason: not null } marked)
        {
            // Its address led to another session's pod, which was left untouched: the session goes, and the next one
            // starts from the head just moved.
            await sessions.DiscardAsync(marked, cancellationToken);
            return;
        }
        if (result.Status != SyncEvent.Done)
        {
            throw new InvalidOperationException($"Loading snapshot {snapshotId} into the running session {session.SessionId} failed: {result.Error}");
        }
    }
}
