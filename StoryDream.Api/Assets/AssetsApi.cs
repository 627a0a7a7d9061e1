using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.Snapshots;

namespace StoryDream.Api.Assets;

/// <summary>
/// Uploaded assets (issue 17): images, audio and video a composition reaches with <c>staticFile()</c>. An upload is
/// stored content-addressed (the snapshot store's blobs), placed at <c>public/{name}</c> in a new version by the user,
/// and loaded into a running session the way a restore is (the session's unsaved work is saved first).
/// </summary>
internal static class AssetsApi
{
    private const string FileField = "file";
    private const int MaxCommitAttempts = 10;

    // What a multipart body adds around the file: boundaries and part headers.
    private const long MultipartAllowance = 64 * 1024;

    public static IEndpointRouteBuilder MapAssetsApi(this IEndpointRouteBuilder app)
    {
        var maxBytes = app.ServiceProvider.GetRequiredService<IOptions<AssetOptions>>().Value.MaxBytes;
        var api = app.MapGroup("/api/projects/{id}/assets").WithTags("Assets").RequireAuthorization();
        api.MapGet("", ListAsync);
        api.MapPost("", UploadAsync).WithMetadata(new RequestSizeLimitAttribute(maxBytes + MultipartAllowance));
        api.MapDelete("/{name}", DeleteAsync);
        return app;
    }

    public static async Task<Results<Ok<AssetList>, ProblemHttpResult>> ListAsync(
        string id, ClaimsPrincipal user, IProjectStore projects, ISnapshotStore snapshots, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is null) { return ProjectsApi.NotFound(); }
        if (await snapshots.GetHeadAsync(id, cancellationToken) is not { } head
            || await snapshots.ReadTreeAsync(id, head, cancellationToken) is not { } tree)
        {
            return ProjectsApi.NotFound();
        }
        var items = tree.Entries
            .Select(e => AssetNames.NameOf(e.Path) is { } name ? Response(name, e, head) : null)
            .OfType<AssetResponse>().ToList();
        return TypedResults.Ok(new AssetList(items, head));
    }

    public static async Task<Results<Created<AssetResponse>, ValidationProblem, ProblemHttpResult>> UploadAsync(
        string id, HttpRequest request, ClaimsPrincipal user, IProjectStore projects, ISnapshotStore snapshots, IProjectSessions sessions,
        IOptions<AssetOptions> options, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is null) { return ProjectsApi.NotFound(); }
        if (!request.HasFormContentType || !request.ContentType!.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return Unsupported($"Send the file as multipart/form-data in a '{FileField}' field.");
        }
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(cancellationToken);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException)
        {
            return ApiProblems.Validation(FileField, $"The multipart body is malformed or cut short: {e.Message}");
        }
        if (form.Files.GetFiles(FileField) is not [var file] || form.Files.Count != 1)
        {
            return ApiProblems.Validation(FileField, $"Send exactly one file, in the '{FileField}' field.");
        }
        var maxBytes = options.Value.MaxBytes;
        if (file.Length > maxBytes)
        {
            return TypedResults.Problem($"The file is {file.Length} bytes; uploads are limited to {maxBytes} bytes.",
                statusCode: StatusCodes.Status413PayloadTooLarge, title: "File too large", type: ProblemTypes.PayloadTooLarge);
        }
        if (AssetNames.Problem(file.FileName) is { } nameProblem) { return ApiProblems.Validation(FileField, nameProblem); }
        if (file.Length == 0) { return ApiProblems.Validation(FileField, "The file is empty."); }

        var content = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(content, cancellationToken);
        }
        if (AssetTypes.Detect(content) is not { } type)
        {
            return Unsupported($"The file's bytes are not an image, audio or video of a supported type ({AssetTypes.Supported}). SVG is refused: it can carry script.");
        }
        if (!type.Extensions.Contains(Path.GetExtension(file.FileName).ToLowerInvariant(), StringComparer.Ordinal))
        {
            return ApiProblems.Validation(FileField, $"The file holds {type.MediaType} but is named '{file.FileName}'; name it with {string.Join(" or ", type.Extensions)}.");
        }
        if (!AssetTypes.IsComplete(type, content))
        {
            return ApiProblems.Validation(FileField, $"The file is not a whole {type.MediaType} file (it is cut short).");
        }

        var sha256 = await snapshots.PutBlobAsync(content, cancellationToken);
        var entry = new ManifestEntry(AssetNames.PathOf(file.FileName), sha256, content.Length);
        var outcome = await CommitAsync(id, snapshots, sessions, tree => [.. tree.Entries.Where(e => e.Path != entry.Path), entry],
            $"Uploaded {entry.Path}", cancellationToken);
        return outcome switch
        {
            { Problem: { } problem } => problem,
            { SnapshotId: { } snapshotId } => TypedResults.Created($"/api/projects/{id}/assets/{file.FileName}", Response(file.FileName, entry, snapshotId)),
            _ => ProjectsApi.NotFound(),
        };
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string id, string name, ClaimsPrincipal user, IProjectStore projects, ISnapshotStore snapshots, IProjectSessions sessions,
        CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is null) { return ProjectsApi.NotFound(); }
        if (AssetNames.Problem(name) is not null) { return NoSuchAsset(); }
        var path = AssetNames.PathOf(name);
        var found = true;
        var outcome = await CommitAsync(id, snapshots, sessions, tree =>
        {
            found = tree.Contains(path);
            return [.. tree.Entries.Where(e => e.Path != path)];
        }, $"Deleted {path}", cancellationToken);
        if (outcome.Problem is { } problem) { return problem; }
        if (outcome.SnapshotId is null) { return ProjectsApi.NotFound(); }
        return found ? TypedResults.NoContent() : NoSuchAsset();
    }

    private sealed record Outcome(string? SnapshotId, ProblemHttpResult? Problem = null);

    /// <summary>
    /// Commits <paramref name="change"/> of the head as a version by the user, as a restore does: the session's unsaved
    /// work is saved first, a turn in progress refuses with 409, and a running session then loads the new tree. A head that
    /// moves meanwhile is read again and the change applied to it.
    /// </summary>
    private static async Task<Outcome> CommitAsync(string projectId, ISnapshotStore snapshots, IProjectSessions sessions,
        Func<SnapshotManifest, IEnumerable<ManifestEntry>> change, string message, CancellationToken cancellationToken)
    {
        await using var saving = await sessions.BeginRestoreAsync(projectId, cancellationToken);
        if (saving is null)
        {
            return new Outcome(null, ApiProblems.Conflict("The agent is working on this project, or its session's unsaved work could not be saved first; try again when the turn is over."));
        }
        for (var attempt = 0; attempt < MaxCommitAttempts; attempt++)
        {
            if (await snapshots.GetHeadAsync(projectId, cancellationToken) is not { } head
                || await snapshots.ReadTreeAsync(projectId, head, cancellationToken) is not { } tree)
            {
                return new Outcome(null);
            }
            var changed = SnapshotManifest.Create(change(tree));
            if (changed.Id == tree.Id) { return new Outcome(head); }
            var result = await snapshots.CommitAsync(new SnapshotCommit(projectId, head, changed, SnapshotAuthors.User, message), cancellationToken);
            switch (result.Status)
            {
                case CommitStatus.Committed:
                    await sessions.HeadMovedAsync(projectId, changed.Id, cancellationToken);
                    return new Outcome(changed.Id);
                case CommitStatus.Unchanged:
                    return new Outcome(changed.Id);
                case CommitStatus.ProjectNotFound:
                    return new Outcome(null);
                default:
                    continue;
            }
        }
        return new Outcome(null, ApiProblems.Conflict("The project's head kept moving; try again."));
    }

    private static AssetResponse Response(string name, ManifestEntry entry, string snapshotId) =>
        new(name, entry.Path, entry.Size, entry.Sha256, AssetNames.ContentType(name), snapshotId);

    private static ProblemHttpResult NoSuchAsset() => ApiProblems.NotFound("This project has no such asset.");

    private static ProblemHttpResult Unsupported(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported file type", type: ProblemTypes.UnsupportedMediaType);
}
