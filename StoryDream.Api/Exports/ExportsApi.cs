using System.Security.Claims;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using StoryDream.Api.Auth;
using StoryDream.Api.Downloads;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.Snapshots;

namespace StoryDream.Api.Exports;

/// <summary>MP4 exports of a project (issue 17, DESIGN section 10): start, list, look, cancel, download.</summary>
internal static partial class ExportsApi
{
    private const int ListLimit = 50;

    public static IEndpointRouteBuilder MapExportsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/projects/{id}/exports").WithTags("Exports").RequireAuthorization();
        api.MapPost("/", CreateAsync);
        api.MapGet("/", ListAsync);
        api.MapGet("/{exportId}", GetAsync);
        api.MapDelete("/{exportId}", CancelAsync);
        api.MapGet("/{exportId}/download", DownloadAsync);
        api.MapGet("/{exportId}/link", LinkAsync);
        return app;
    }

    public static async Task<Results<Accepted<ExportResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        string id, CreateExportRequest? request, ClaimsPrincipal user, IProjectStore projects, ExportLauncher launcher, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } project) { return ProjectsApi.NotFound(); }
        request ??= new CreateExportRequest(null, null, null, null);
        var errors = new ValidationErrors();
        if (request.SnapshotId is { } snapshot && !Sha256Hex.IsValid(snapshot)) { errors.Add("snapshotId", "snapshotId must be a snapshot id (64 lower-case hex digits)."); }
        if (request.Composition is { } composition && !CompositionId().IsMatch(composition))
        {
            errors.Add("composition", "composition must be a composition id: 1 to 100 letters, digits and dashes.");
        }
        if (!ExportCodecs.IsSupported(request.Codec)) { errors.Add("codec", ExportCodecs.Problem("codec")); }
        if (request.Quality is < 1 or > 51) { errors.Add("quality", "quality is x264's CRF, an integer from 1 (best) to 51."); }
        if (errors.Any) { return ApiProblems.Validation(errors.ToDictionary()); }

        var exportId = Guid.NewGuid().ToString("D");
        if (await launcher.TryStartAsync(exportId, project.Id, user.UserId(), request.SnapshotId ?? project.HeadSnapshotId, request.Composition,
                request.Codec ?? ExportCodecs.Default, request.Quality, cancellationToken) is not { } export)
        {
            return TypedResults.Problem($"You already have {launcher.MaxActivePerUser} exports queued or rendering; wait for one to finish or cancel one.",
                statusCode: StatusCodes.Status429TooManyRequests, title: "Too many exports", type: ProblemTypes.RateLimited);
        }
        return TypedResults.Accepted($"/api/projects/{project.Id}/exports/{exportId}", ExportResponse.From(export));
    }

    public static async Task<Results<Ok<ExportList>, ProblemHttpResult>> ListAsync(
        string id, ClaimsPrincipal user, IProjectStore projects, IExportStore exports, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } project) { return ProjectsApi.NotFound(); }
        var items = await exports.ListAsync(project.Id, ListLimit, cancellationToken);
        return TypedResults.Ok(new ExportList([.. items.Select(ExportResponse.From)]));
    }

    public static async Task<Results<Ok<ExportResponse>, ProblemHttpResult>> GetAsync(
        string id, string exportId, ClaimsPrincipal user, IProjectStore projects, IExportStore exports, CancellationToken cancellationToken)
    {
        if (await FindAsync(id, exportId, user, projects, exports, cancellationToken) is not { } export) { return NotFound(); }
        return TypedResults.Ok(ExportResponse.From(export));
    }

    /// <summary>
    /// Accepted: a queued export is canceled at once; a running one is marked canceled here, and its worker stops the
    /// render pod within one poll and deletes anything it uploaded.
    /// </summary>
    public static async Task<Results<Accepted<ExportResponse>, ProblemHttpResult>> CancelAsync(
        string id, string exportId, ClaimsPrincipal user, IProjectStore projects, IExportStore exports, ExportLauncher launcher, CancellationToken cancellationToken)
    {
        if (await FindAsync(id, exportId, user, projects, exports, cancellationToken) is not { } export) { return NotFound(); }
        var location = $"/api/projects/{export.ProjectId}/exports/{export.Id}";
        if (export.Status == ExportStatuses.Canceled) { return TypedResults.Accepted(location, ExportResponse.From(export)); }
        if (await launcher.CancelAsync(export, cancellationToken) is not { } ended) { return NotFound(); }
        return ended.Status == ExportStatuses.Canceled
            ? TypedResults.Accepted(location, ExportResponse.From(ended))
            : ApiProblems.Conflict($"The export is already {ended.Status}.");
    }

    /// <summary>
    /// A redirect to a short-lived link to the MP4: a signed Cloud Storage URL in production, the API's owner-checked
    /// download route against the emulator.
    /// </summary>
    public static async Task<IResult> DownloadAsync(
        string id, string exportId, ClaimsPrincipal user, IProjectStore projects, IExportStore exports, IDownloadLinks links,
        CancellationToken cancellationToken)
    {
        if (await FindAsync(id, exportId, user, projects, exports, cancellationToken) is not { } export) { return NotFound(); }
        if (export.Status != ExportStatuses.Complete) { return ApiProblems.Conflict($"The export is {export.Status}; only a complete export can be downloaded."); }
        // The owner's link: FindAsync found the export through the caller's own project.
        var link = await ExportLauncher.DownloadLinkAsync(links, export, cancellationToken);
        return TypedResults.Redirect(link.Url.ToString());
    }

    /// <summary>
    /// The same short-lived link as JSON, for a browser: it cannot send its bearer token along a redirect to another
    /// origin, and a link it navigates to downloads the file straight to disk instead of through the page's memory.
    /// </summary>
    public static async Task<Results<Ok<DownloadLinkResponse>, ProblemHttpResult>> LinkAsync(
        string id, string exportId, ClaimsPrincipal user, IProjectStore projects, IExportStore exports, IDownloadLinks links,
        CancellationToken cancellationToken)
    {
        if (await FindAsync(id, exportId, user, projects, exports, cancellationToken) is not { } export) { return NotFound(); }
        if (export.Status != ExportStatuses.Complete) { return ApiProblems.Conflict($"The export is {export.Status}; only a complete export can be downloaded."); }
        var link = await links.CreateAsync(user.UserId(), export.ProjectId, Export.ObjectName(export.ProjectId, export.Id), $"{export.Id}.mp4", cancellationToken);
        return TypedResults.Ok(new DownloadLinkResponse(link.Url.ToString(), link.ExpiresAt));
    }

    private static async Task<Export?> FindAsync(string id, string exportId, ClaimsPrincipal user, IProjectStore projects, IExportStore exports, CancellationToken cancellationToken)
    {
        // Foreign and malformed ids answer exactly like missing ones.
        if (!Guid.TryParseExact(exportId, "D", out var parsed) || parsed.ToString("D") != exportId) { return null; }
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } project) { return null; }
        return await exports.GetAsync(project.Id, exportId, cancellationToken);
    }

    private static ProblemHttpResult NotFound() => ApiProblems.NotFound("There is no such export.");

    [GeneratedRegex("^[A-Za-z0-9-]{1,100}$")]
    private static partial Regex CompositionId();
}
