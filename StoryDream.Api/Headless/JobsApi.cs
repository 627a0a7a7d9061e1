using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using StoryDream.Api.Auth;
using StoryDream.Api.Downloads;
using StoryDream.Api.Exports;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.Api.Sessions;
using StoryDream.Sessions;
using SessionOptions = StoryDream.Api.Sessions.SessionOptions;

namespace StoryDream.Api.Headless;

/// <summary>Following headless jobs: one by id, or a project's, newest first.</summary>
internal static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/jobs").WithTags("Headless").RequireAuthorization();
        api.MapGet("/{id}", GetAsync);
        api.MapGet("/", ListAsync);
        return app;
    }

    public static string StatusUrl(string jobId) => $"/api/jobs/{jobId}";

    public static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetAsync(
        string id, ClaimsPrincipal user, HeadlessJobStore jobs, SessionManager sessions, PreviewTokens tokens, IOptions<SessionOptions> options,
        IExportStore exports, IDownloadLinks links, TimeProvider time, CancellationToken cancellationToken)
    {
        var userId = user.UserId();
        if (await jobs.FindAsync(userId, id, cancellationToken) is not { } job) { return ApiProblems.NotFound("There is no such job."); }
        SessionResponse? preview = null;
        if (job.Status == JobStatuses.Complete && await sessions.GetAsync(job.ProjectId) is { Status: SessionStatus.Ready } session)
        {
            preview = SessionResponse.From(session, userId, tokens, options.Value, time);
        }
        // Read only for jobs that asked for an export, so other jobs cost what they did.
        var export = job.ExportId is { } exportId ? await exports.GetAsync(job.ProjectId, exportId, cancellationToken) : null;
        var link = job.Status == JobStatuses.Complete && export is { Status: ExportStatuses.Complete }
            ? await ExportLauncher.DownloadLinkAsync(links, export, cancellationToken)
            : null;
        return TypedResults.Ok(ToResponse(id, job, preview, export, link));
    }

    public static async Task<Results<Ok<Page<JobResponse>>, ValidationProblem, ProblemHttpResult>> ListAsync(
        [FromQuery] string? projectId, ClaimsPrincipal user, HeadlessJobStore jobs, IProjectStore projects, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(projectId)) { return ApiProblems.Validation("projectId", "projectId is required: jobs are listed per project."); }
        if (await ProjectsApi.FindAsync(projects, user, projectId, cancellationToken) is null) { return ProjectsApi.NotFound(); }
        var items = await jobs.ListAsync(user.UserId(), projectId, cancellationToken);
        return TypedResults.Ok(new Page<JobResponse>(items.Select(d => ToResponse(d.Id, d.Data, null, null, null)).ToList(), null));
    }

    private static JobResponse ToResponse(string jobId, JobDocument job, SessionResponse? preview, Export? export, DownloadLink? link)
    {
        var result = job.Status == JobStatuses.Complete
            ? new JobResult(job.SnapshotId, preview is null ? null : WithToken(preview), preview?.ExpiresAt, job.ExportId, link?.Url, link?.ExpiresAt, job.Reply)
            : null;
        return new JobResponse(jobId, job.ProjectId, job.Status, job.Phase, job.CreatedAt, job.Deadline, job.FinishedAt,
            job.FinishedAt is { } finished ? (finished - job.CreatedAt).TotalMilliseconds : null, job.PhaseTimes, job.Attempts, job.Error, result,
            export is null ? null : new JobExport(export.Id, export.Codec, export.Status, export.Progress, export.Size, export.DurationMs, export.Error));
    }

    /// <summary>The preview with its token as the gateway takes it on the first request (<c>?sd_token=</c>).</summary>
    private static Uri WithToken(SessionResponse preview) =>
        new UriBuilder(preview.PreviewUrl) { Query = $"sd_token={Uri.EscapeDataString(preview.PreviewToken)}" }.Uri;
}
