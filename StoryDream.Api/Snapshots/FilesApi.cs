using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.StaticFiles;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.Snapshots;

namespace StoryDream.Api.Snapshots;

/// <summary>The files of a project's head, or of any snapshot in its history (<c>?snapshot=</c>).</summary>
internal static class FilesApi
{
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();
    private static readonly HashSet<string> InlineImageTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif",
    };

    public static async Task<Results<Ok<IReadOnlyList<FileResponse>>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string id, [FromQuery] string? snapshot, ClaimsPrincipal user, IProjectStore projects, ISnapshotStore snapshots, HttpResponse response,
        CancellationToken cancellationToken)
    {
        var lookup = await TreeAsync(id, snapshot, user, projects, snapshots, cancellationToken);
        if (lookup.Invalid is { } invalidSnapshot) { return invalidSnapshot; }
        if (lookup.Tree is not { } tree) { return lookup.Missing!; }
        SetCaching(response, tree.Id, snapshot is not null);
        return TypedResults.Ok<IReadOnlyList<FileResponse>>(tree.Entries.Select(e => new FileResponse(e.Path, e.Size, e.Sha256)).ToList());
    }

    public static async Task<Results<PushStreamHttpResult, StatusCodeHttpResult, ValidationProblem, ProblemHttpResult>> ReadAsync(
        string id, string path, [FromQuery] string? snapshot, ClaimsPrincipal user, IProjectStore projects, ISnapshotStore snapshots,
        HttpRequest request, HttpResponse response, CancellationToken cancellationToken)
    {
        var lookup = await TreeAsync(id, snapshot, user, projects, snapshots, cancellationToken);
        if (lookup.Invalid is { } invalidSnapshot) { return invalidSnapshot; }
        if (lookup.Tree is not { } tree) { return lookup.Missing!; }
        if (SnapshotPath.Problem(path) is { } invalid) { return ApiProblems.Validation("path", invalid); }
        if (tree.Find(path) is not { } entry) { return ApiProblems.NotFound("The snapshot has no such file."); }

        SetCaching(response, entry.Sha256, snapshot is not null);
        if (ETags.NoneMatchHits(request.Headers.IfNoneMatch, entry.Sha256))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        // Project files are user content: never let a browser run them in the API's origin.
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
        response.ContentLength = entry.Size;
        return TypedResults.Stream(body => snapshots.DownloadBlobAsync(entry.Sha256, body, cancellationToken), ContentType(path));
    }

    private sealed record TreeLookup(SnapshotManifest? Tree, ValidationProblem? Invalid = null, ProblemHttpResult? Missing = null);

    private static async Task<TreeLookup> TreeAsync(
        string id, string? snapshot, ClaimsPrincipal user, IProjectStore projects, ISnapshotStore snapshots, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } project) { return new(null, Missing: ProjectsApi.NotFound()); }
        if (snapshot is not null && !Sha256Hex.IsValid(snapshot))
        {
            return new(null, ApiProblems.Validation("snapshot", "snapshot must be a snapshot id (64 lower-case hex digits)."));
        }
        var tree = await snapshots.ReadTreeAsync(id, snapshot ?? project.HeadSnapshotId, cancellationToken);
        return tree is null ? new(null, Missing: ApiProblems.NotFound("This project has no such snapshot.")) : new(tree);
    }

    /// <summary>A snapshot named in the URL never changes; the head's files must be revalidated.</summary>
    private static void SetCaching(HttpResponse response, string version, bool immutable)
    {
        response.Headers.ETag = ETags.Quote(version);
        response.Headers.CacheControl = immutable ? "private, max-age=31536000, immutable" : "private, no-cache";
    }

    /// <summary>Text is served as plain text and only common raster images as themselves: nothing that a browser renders as a page.</summary>
    private static string ContentType(string path)
    {
        if (!ContentTypes.TryGetContentType(path, out var type))
        {
            return Path.GetExtension(path).ToLowerInvariant() is ".ts" or ".tsx" or ".jsx" or ".mjs" or ".cjs" or ".jsonl" or ".md"
                ? "text/plain; charset=utf-8"
                : "application/octet-stream";
        }
        if (InlineImageTypes.Contains(type)) { return type; }
        return type.StartsWith("text/", StringComparison.Ordinal) || type is "application/json" or "image/svg+xml" or "application/javascript"
            ? "text/plain; charset=utf-8"
            : "application/octet-stream";
    }
}
