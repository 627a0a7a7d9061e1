using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using StoryDream.Api.Auth;
using StoryDream.Api.Exports;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.Api.Snapshots;
using StoryDream.Api.Webhooks;
using StoryDream.GoogleCloud.Firestore;

namespace StoryDream.Api.Headless;

/// <summary>
/// <c>POST /api/requirements</c> (DESIGN section 11): a brief in, a queued job out. Everything is checked before anything
/// is written, so bad input creates no project, job or webhook.
/// </summary>
internal static class RequirementsApi
{
    public const int MaxRequirementsLength = 20_000;
    private const string DefaultName = "Headless project";

    public static IEndpointRouteBuilder MapRequirementsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/requirements", AcceptAsync).WithTags("Headless").RequireAuthorization();
        return app;
    }

    public static async Task<Results<Accepted<RequirementsAccepted>, ValidationProblem, ProblemHttpResult>> AcceptAsync(
        RequirementsRequest request, HttpRequest http, ClaimsPrincipal user, IProjectStore projects, TemplateCatalog templates,
        HeadlessJobStore jobs, HeadlessQueue queue, Idempotency idempotency, WebhookDestinations destinations, IOptions<HeadlessOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new ValidationErrors();
        var requirements = request.Requirements?.Trim();
        if (string.IsNullOrEmpty(requirements) || requirements.Length > MaxRequirementsLength)
        {
            errors.Add("requirements", $"requirements must be 1 to {MaxRequirementsLength} characters.");
        }
        if (request.Export is { } export && !ExportCodecs.IsSupported(export.Codec)) { errors.Add("export.codec", ExportCodecs.Problem("export.codec")); }
        string? name = null;
        if (request.ProjectId is null)
        {
            name = request.Name is null ? DefaultNameFor(requirements) : ProjectValidation.Name(request.Name, required: true, errors);
            if (request.TemplateId is not null && !templates.Exists(request.TemplateId))
            {
                errors.Add("templateId", $"templateId must be one of: {string.Join(", ", templates.TemplateIds)}.");
            }
        }
        else
        {
            if (request.Name is not null) { errors.Add("name", "name applies to a new project only; rename a project with PATCH /api/projects/{id}."); }
            if (request.TemplateId is not null) { errors.Add("templateId", "templateId applies to a new project only."); }
        }
        if (request.WebhookUrl is not null && await destinations.CheckUrlAsync(request.WebhookUrl, cancellationToken) is { } urlProblem)
        {
            errors.Add("webhookUrl", $"webhookUrl {urlProblem}");
        }
        string? idempotencyKey = null;
        if (http.Headers.TryGetValue(Idempotency.Header, out var keyValues))
        {
            idempotencyKey = keyValues.Count == 1 ? keyValues[0] : null;
            if (string.IsNullOrEmpty(idempotencyKey) || idempotencyKey.Length > Idempotency.MaxKeyLength || idempotencyKey.Any(char.IsControl))
            {
                errors.Add(Idempotency.Header, $"{Idempotency.Header} must be one value of 1 to {Idempotency.MaxKeyLength} printable characters.");
            }
        }
        if (errors.Any) { return ApiProblems.Validation(errors.ToDictionary()); }

        var ownerId = user.UserId();
        if (request.ProjectId is not null && await ProjectsApi.FindAsync(projects, user, request.ProjectId, cancellationToken) is null)
        {
            return TypedResults.Problem("projectId names no project of yours.", statusCode: StatusCodes.Status404NotFound, title: "Not found",
                type: ProblemTypes.NotFound, extensions: new Dictionary<string, object?> { ["field"] = "projectId" });
        }

        string? reservation = null;
        var requestHash = Idempotency.Hash(request);
        if (idempotencyKey is not null)
        {
            reservation = Idempotency.Key(ownerId, idempotencyKey);
            var (outcome, earlier) = await idempotency.BeginAsync(reservation, requestHash);
            switch (outcome)
            {
                case Idempotency.Outcome.Replay:
                    return TypedResults.Accepted(earlier!.StatusUrl, earlier);
                case Idempotency.Outcome.Mismatch:
                    return ApiProblems.Validation(Idempotency.Header,
                        $"This {Idempotency.Header} was used with a different request in the last 24 hours; use a new key for a new request.");
                case Idempotency.Outcome.InProgress:
                    return ApiProblems.Conflict($"A request with this {Idempotency.Header} is still being answered; retry in a moment.");
            }
        }

        try
        {
            var accepted = await CreateJobAsync(request, requirements!, name, ownerId, user, projects, templates, jobs, queue, options.Value, time,
                cancellationToken);
            if (reservation is not null) { await idempotency.CompleteAsync(reservation, requestHash, accepted); }
            return TypedResults.Accepted(accepted.StatusUrl, accepted);
        }
        catch
        {
            if (reservation is not null) { await idempotency.AbandonAsync(reservation); }
            throw;
        }
    }

    private static async Task<RequirementsAccepted> CreateJobAsync(
        RequirementsRequest request, string requirements, string? name, string ownerId, ClaimsPrincipal user, IProjectStore projects,
        TemplateCatalog templates, HeadlessJobStore jobs, HeadlessQueue queue, HeadlessOptions options, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var projectId = request.ProjectId;
        if (projectId is null)
        {
            var template = await templates.GetAsync(request.TemplateId ?? TemplateCatalog.DefaultTemplateId, cancellationToken);
            var created = await projects.CreateAsync(
                new NewProject(ProjectIds.New(), ownerId, name!, null, template.TemplateId, VideoSettings.Default),
                template.SnapshotId, template.FileCount, template.TotalBytes, cancellationToken);
            projectId = created.Id;
        }

        var jobId = Guid.NewGuid().ToString("D");
        var now = time.GetUtcNow();
        OneOffWebhook? oneOff = null;
        var alongside = new List<Write>();
        if (request.WebhookUrl is not null)
        {
            oneOff = new OneOffWebhook(Guid.NewGuid().ToString("D"), WebhookSignature.NewSecret());
            alongside.Add(Write.Create(WebhookStore.Path(oneOff.Id),
                new WebhookDocument(ownerId, request.WebhookUrl, WebhookEvents.All, oneOff.Secret, OneOff: true, jobId, now)));
        }

        // The API key's authentication read its client, name included.
        var job = new JobDocument(ownerId, user.FindFirst(ApiClaims.ClientId)?.Value, user.FindFirst(ApiClaims.ClientName)?.Value, projectId,
            request.ProjectId is null, requirements, JobStatuses.Queued, JobPhases.Queued,
            new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal) { [JobPhases.Queued] = now },
            Guid.NewGuid().ToString("D"), Guid.NewGuid().ToString("D"), oneOff?.Id, now, now + options.JobTimeout,
            ExportCodec: request.Export is null ? null : request.Export.Codec ?? ExportCodecs.Default);
        // One commit: the job and its one-off webhook exist together or not at all.
        await jobs.CreateAsync(jobId, job, alongside, cancellationToken);
        await queue.EnqueueAsync(jobId);
        return new RequirementsAccepted(jobId, projectId, JobStatuses.Queued, JobsApi.StatusUrl(jobId), oneOff);
    }

    /// <summary>A new project's name when none is given: the brief's first line, cut to a project name's length.</summary>
    private static string DefaultNameFor(string? requirements)
    {
        var firstLine = requirements?.Split('\n', 2)[0].Trim().TrimStart('#').Trim();
        if (string.IsNullOrEmpty(firstLine) || firstLine.Any(char.IsControl)) { return DefaultName; }
        return firstLine.Length <= ProjectValidation.MaxNameLength ? firstLine : firstLine[..ProjectValidation.MaxNameLength].TrimEnd();
    }
}
