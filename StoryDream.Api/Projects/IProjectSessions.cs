namespace StoryDream.Api.Projects;

/// <summary>
/// What project operations need from the project's live session. The sessions feature implements it; the default,
/// <see cref="NoProjectSessions"/>, is right for an API that runs no session runtime.
/// </summary>
internal interface IProjectSessions
{
    /// <summary>Stops the project's session, if one runs, without saving its work: the project is being deleted.</summary>
    Task DiscardAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>The head moved outside the session (a restore): a running session must load <paramref name="snapshotId"/>.</summary>
    Task HeadMovedAsync(string projectId, string snapshotId, CancellationToken cancellationToken);
}

/// <summary>No session runtime in this process, so no session can be running.</summary>
internal sealed class NoProjectSessions : IProjectSessions
{
    public Task DiscardAsync(string projectId, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task HeadMovedAsync(string projectId, string snapshotId, CancellationToken cancellationToken) => Task.CompletedTask;
}
