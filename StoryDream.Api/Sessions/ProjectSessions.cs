using Microsoft.Extensions.Options;
using StoryDream.Api.Projects;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>What project operations need of a project's live session, done through the <see cref="SessionManager"/>.</summary>
internal sealed class ProjectSessions(SessionManager sessions, SyncJobs syncJobs, IOptions<SessionOptions> options) : IProjectSessions
{
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
