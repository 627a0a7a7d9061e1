namespace StoryDream.Api.Projects;

/// <summary>
/// What project operations need from the project's live session; the sessions feature implements it.
/// </summary>
internal interface IProjectSessions
{
    /// <summary>Stops the project's session, if one runs, without saving its work: the project is being deleted.</summary>
    Task DiscardAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>The head moved outside the session (a restore): a running session must load <paramref name="snapshotId"/>.</summary>
    Task HeadMovedAsync(string projectId, string snapshotId, CancellationToken cancellationToken);
}
