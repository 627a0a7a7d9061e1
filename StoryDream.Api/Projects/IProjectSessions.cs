namespace StoryDream.Api.Projects;

/// <summary>
/// What project operations need from the project's live session; the sessions feature implements it.
/// </summary>
internal interface IProjectSessions
{
    /// <summary>Stops the project's session, if one runs, without saving its work: the project is being deleted.</summary>
    Task DiscardAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>
    /// Before a restore: holds the project's turn lock so no chat turn starts during it, and saves the running session's
    /// work in progress as a version. Null when a turn runs (or the work could not be saved): the restore must not go on.
    /// Disposing the result frees the project.
    /// </summary>
    Task<IAsyncDisposable?> BeginRestoreAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>The head moved outside the session (a restore): a running session must load <paramref name="snapshotId"/>.</summary>
    Task HeadMovedAsync(string projectId, string snapshotId, CancellationToken cancellationToken);
}
