using StoryDream.Api.Http;
using StoryDream.Snapshots;

namespace StoryDream.Api.Projects;

internal enum UpdateOutcome
{
    Updated,
    NotFound,
    PreconditionFailed,
}

internal sealed record UpdateResult(UpdateOutcome Outcome, Project? Project = null);

internal interface IProjectStore
{
    /// <summary>Creates the project with the template's snapshot as head, and that snapshot as its first history entry.</summary>
    Task<Project> CreateAsync(NewProject project, string headSnapshotId, int fileCount, long totalBytes, CancellationToken cancellationToken);

    /// <summary>
    /// Creates the project with <paramref name="tree"/> (whose manifest is already stored under the new project) as head,
    /// and that tree as its first history entry, by <c>system</c> with <paramref name="message"/>.
    /// </summary>
    Task<Project> CreateForkAsync(NewProject project, SnapshotManifest tree, string message, CancellationToken cancellationToken);

    /// <summary>The project if it exists, belongs to <paramref name="ownerId"/> and is not being deleted; otherwise null.</summary>
    Task<Project?> GetAsync(string ownerId, string projectId, CancellationToken cancellationToken);

    /// <summary>The owner's projects, newest <c>updatedAt</c> first.</summary>
    Task<(IReadOnlyList<Project> Items, PageCursor? Next)> ListAsync(string ownerId, int pageSize, PageCursor? after, CancellationToken cancellationToken);

    /// <summary>
    /// Applies <paramref name="changes"/> when the project is the owner's and, with <paramref name="ifMatch"/>, still at one
    /// of those versions (<c>*</c> matches any); the check and the write are one atomic step.
    /// </summary>
    Task<UpdateResult> UpdateAsync(string ownerId, string projectId, ProjectChanges changes, IReadOnlyList<string> ifMatch, CancellationToken cancellationToken);

    /// <summary>
    /// Marks the owner's project as being deleted (from then on it is 404 and takes no commits); returns false when it
    /// is not theirs. A project already marked returns true, so an interrupted delete can be finished.
    /// </summary>
    Task<bool> MarkDeletingAsync(string ownerId, string projectId, CancellationToken cancellationToken);

    /// <summary>Removes the project document once its messages and history are gone.</summary>
    Task DeleteAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>Stores the agent's own session id from its last completed turn, for it to resume from on the next.</summary>
    Task SetAgentSessionIdAsync(string projectId, string agentSessionId, CancellationToken cancellationToken);

    /// <summary>Stores the chat's running summary.</summary>
    Task SetConversationSummaryAsync(string projectId, ConversationSummary summary, CancellationToken cancellationToken);

    /// <summary>Whether a decoded page cursor could have come from this store.</summary>
    bool IsValidCursor(PageCursor cursor);
}
