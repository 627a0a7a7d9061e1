using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using StoryDream.Api.Auth;
using StoryDream.Api.Http;
using StoryDream.Api.Messages;
using StoryDream.Api.Snapshots;
using StoryDream.Snapshots;

namespace StoryDream.Api.Projects;

internal static class ProjectsApi
{
    private const string ListName = "projects";
    private const int DefaultPageSize = 20;
    private const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapProjectsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/projects").WithTags("Projects").RequireAuthorization();
        api.MapPost("/", CreateAsync);
        api.MapGet("/", ListAsync);
        api.MapGet("/{id}", GetAsync);
        api.MapPatch("/{id}", UpdateAsync);
        api.MapDelete("/{id}", DeleteAsync);
        return app;
    }

    public static async Task<Results<Created<ProjectResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateProjectRequest request, ClaimsPrincipal user, IProjectStore projects, TemplateCatalog templates, IOptions<ProjectQuotaOptions> quota,
        HttpResponse response, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        var name = ProjectValidation.Name(request.Name, required: true, errors);
        var description = ProjectValidation.Description(request.Description, errors);
        var settings = ProjectValidation.VideoSettings(request.VideoSettings, Projects.VideoSettings.Default, errors) ?? Projects.VideoSettings.Default;
        var templateId = request.TemplateId ?? TemplateCatalog.DefaultTemplateId;
        if (!templates.Exists(templateId))
        {
            errors.Add("templateId", $"templateId must be one of: {string.Join(", ", templates.TemplateIds)}.");
        }
        if (errors.Any) { return ApiProblems.Validation(errors.ToDictionary()); }

        var template = await templates.GetAsync(templateId, cancellationToken);
        if (await ProjectQuotas.CheckAsync(projects, quota.Value, user.UserId(), template.TotalBytes, cancellationToken) is { } refused) { return refused; }
        var created = await projects.CreateAsync(
            new NewProject(ProjectIds.New(), user.UserId(), name!, string.IsNullOrEmpty(description) ? null : description, templateId, settings),
            template.SnapshotId, template.FileCount, template.TotalBytes, cancellationToken);
        response.Headers.ETag = ETags.Quote(created.Version);
        return TypedResults.Created($"/api/projects/{created.Id}", ProjectResponse.From(created));
    }

    public static async Task<Results<Ok<Page<ProjectResponse>>, ValidationProblem>> ListAsync(
        [FromQuery] string? pageSize, [FromQuery] string? pageToken, ClaimsPrincipal user, IProjectStore projects, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        var size = Paging.PageSize(pageSize, DefaultPageSize, MaxPageSize, errors);
        var after = Paging.Decode(pageToken, ListName, projects.IsValidCursor, errors);
        if (errors.Any) { return ApiProblems.Validation(errors.ToDictionary()); }

        var (items, next) = await projects.ListAsync(user.UserId(), size!.Value, after, cancellationToken);
        return TypedResults.Ok(new Page<ProjectResponse>(
            items.Select(ProjectResponse.From).ToList(), next is null ? null : Paging.Encode(ListName, next)));
    }

    public static async Task<Results<Ok<ProjectResponse>, StatusCodeHttpResult, ProblemHttpResult>> GetAsync(
        string id, ClaimsPrincipal user, IProjectStore projects, HttpRequest request, HttpResponse response, CancellationToken cancellationToken)
    {
        if (await FindAsync(projects, user, id, cancellationToken) is not { } project) { return NotFound(); }
        response.Headers.ETag = ETags.Quote(project.Version);
        if (ETags.NoneMatchHits(request.Headers.IfNoneMatch, project.Version))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        return TypedResults.Ok(ProjectResponse.From(project));
    }

    public static async Task<Results<Ok<ProjectResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        string id, UpdateProjectRequest request, ClaimsPrincipal user, IProjectStore projects, HttpRequest httpRequest, HttpResponse response,
        CancellationToken cancellationToken)
    {
        if (await FindAsync(projects, user, id, cancellationToken) is not { } current) { return NotFound(); }

        var ifMatch = httpRequest.Headers.IfMatch.ToString();
        var versions = ETags.StrongVersions(ifMatch);
        if (!string.IsNullOrWhiteSpace(ifMatch) && versions.Count == 0)
        {
            return ApiProblems.PreconditionFailed("If-Match names no strong ETag of this project.");
        }

        var errors = new ValidationErrors();
        var name = ProjectValidation.Name(request.Name, required: false, errors);
        var description = ProjectValidation.Description(request.Description, errors);
        var settings = ProjectValidation.VideoSettings(request.VideoSettings, current.VideoSettings, errors);
        if (errors.Any) { return ApiProblems.Validation(errors.ToDictionary()); }

        var result = await projects.UpdateAsync(user.UserId(), id, new ProjectChanges(name, description, settings), versions, cancellationToken);
        switch (result.Outcome)
        {
            case UpdateOutcome.NotFound:
                return NotFound();
            case UpdateOutcome.PreconditionFailed:
                return ApiProblems.PreconditionFailed("The project has changed since the version named in If-Match; get it again and retry.");
            default:
                response.Headers.ETag = ETags.Quote(result.Project!.Version);
                return TypedResults.Ok(ProjectResponse.From(result.Project));
        }
    }

    /// <summary>
    /// Marks the project first (so it is gone for every other request and takes no more commits), stops its session,
    /// then removes its messages, history and manifests, and the document last. A delete cut short can be repeated.
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string id, ClaimsPrincipal user, IProjectStore projects, IMessageStore messages, ISnapshotStore snapshots, IProjectSessions sessions,
        CancellationToken cancellationToken)
    {
        if (!ProjectIds.IsValid(id) || !await projects.MarkDeletingAsync(user.UserId(), id, cancellationToken)) { return NotFound(); }
        await sessions.DiscardAsync(id, cancellationToken);
        await messages.DeleteAllAsync(id, cancellationToken);
        await snapshots.DeleteHistoryAsync(id, cancellationToken);
        await projects.DeleteAsync(id, cancellationToken);
        return TypedResults.NoContent();
    }

    /// <summary>The caller's project, or null for an id that is malformed, unknown or someone else's.</summary>
    public static Task<Project?> FindAsync(IProjectStore projects, ClaimsPrincipal user, string id, CancellationToken cancellationToken) =>
        ProjectIds.IsValid(id) ? projects.GetAsync(user.UserId(), id, cancellationToken) : Task.FromResult<Project?>(null);

    public static ProblemHttpResult NotFound() => ApiProblems.NotFound("There is no such project.");
}
