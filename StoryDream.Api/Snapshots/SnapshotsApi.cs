using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.Snapshots;

namespace StoryDream.Api.Snapshots;

/// <summary>Version history and rollback.</summary>
internal static class SnapshotsApi
{
    private const string ListName = "snapshots";
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 200;
    private const int MaxRestoreAttempts = 10;

    public static IEndpointRouteBuilder MapSnapshotsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/projects/{id}").WithTags("Snapshots").RequireAuthorization();
        api.MapGet("/snapshots", ListAsync);
        api.MapPost("/snapshots/{snapshotId}/restore", RestoreAsync);
        api.MapPost("/snapshots/{snapshotId}/fork", ForkApi.ForkAsync);
        api.MapGet("/files", FilesApi.ListAsync);
        api.MapGet("/files/{**path}", FilesApi.ReadAsync);
        return app;
    }

    public static async Task<Results<Ok<Page<SnapshotResponse>>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string id, [FromQuery] string? pageSize, [FromQuery] string? pageToken, ClaimsPrincipal user, IProjectStore projects,
        ISnapshotStore snapshots, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is null) { return ProjectsApi.NotFound(); }
        var list = $"{ListName}:{id}";
        var errors = new ValidationErrors();
        var size = Paging.PageSize(pageSize, DefaultPageSize, MaxPageSize, errors);
        var after = Paging.Decode(pageToken, list, IsValidCursor, errors);
        if (errors.Any) { return ApiProblems.Validation(errors.ToDictionary()); }

        var page = await snapshots.ListHistoryAsync(id, size!.Value, after is null ? null : new HistoryCursor(after.Position, after.Id), cancellationToken);
        return TypedResults.Ok(new Page<SnapshotResponse>(
            page.Entries.Select(SnapshotResponse.From).ToList(),
            page.Next is { } next ? Paging.Encode(list, new PageCursor(next.CreatedAt, next.EntryId)) : null));
    }

    /// <summary>
    /// Makes the snapshot's tree the head again, recorded as a new history entry by the user (the old entries stay).
    /// A running session's work in progress is saved as a version first, and a chat turn in progress refuses the restore
    /// with 409; then the session loads the restored tree.
    /// A head that moves meanwhile (an agent turn being synced) is simply retried on: a restore replaces the tree
    /// whatever it is. Restoring the tree that is already the head changes nothing and returns the head's entry.
    /// </summary>
    public static async Task<Results<Ok<SnapshotResponse>, ProblemHttpResult>> RestoreAsync(
        string id, string snapshotId, ClaimsPrincipal user, IProjectStore projects, ISnapshotStore snapshots, IProjectSessions sessions,
        CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is null) { return ProjectsApi.NotFound(); }
        if (!Sha256Hex.IsValid(snapshotId) || await snapshots.ReadTreeAsync(id, snapshotId, cancellationToken) is not { } tree)
        {
            return ApiProblems.NotFound("This project has no such snapshot.");
        }

        await using var restoring = await sessions.BeginRestoreAsync(id, cancellationToken);
        if (restoring is null)
        {
            return ApiProblems.Conflict("The agent is working on this project, or its session's unsaved work could not be saved first; restore when the turn is over.");
        }
        for (var attempt = 0; attempt < MaxRestoreAttempts; attempt++)
        {
            if (await snapshots.GetHeadAsync(id, cancellationToken) is not { } head) { return ProjectsApi.NotFound(); }
            var result = await snapshots.CommitAsync(
                new SnapshotCommit(id, head, tree, SnapshotAuthors.User, $"Restored version {snapshotId[..12]}"), cancellationToken);
            switch (result.Status)
            {
                case CommitStatus.Committed:
                    await sessions.HeadMovedAsync(id, snapshotId, cancellationToken);
                    return TypedResults.Ok(SnapshotResponse.From(result.Entry!));
                case CommitStatus.Unchanged:
                    var newest = await snapshots.ListHistoryAsync(id, 1, null, cancellationToken);
                    return TypedResults.Ok(SnapshotResponse.From(newest.Entries[0]));
                case CommitStatus.ProjectNotFound:
                    return ProjectsApi.NotFound();
                default:
                    continue;
            }
        }
        return ApiProblems.Conflict("The project's head kept moving; try the restore again.");
    }

    private static bool IsValidCursor(PageCursor cursor) =>
        DateTimeOffset.TryParse(cursor.Position, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out _)
        && cursor.Id.Length is >= Sha256Hex.Length and <= 100 && Sha256Hex.IsValid(cursor.Id[..Sha256Hex.Length]);
}
