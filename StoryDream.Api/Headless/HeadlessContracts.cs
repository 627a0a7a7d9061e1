namespace StoryDream.Api.Headless;

/// <summary>The body of <c>POST /api/requirements</c>.</summary>
public sealed record RequirementsRequest(
    string? ProjectId, string? Name, string? Requirements, string? TemplateId, ExportRequest? Export, string? WebhookUrl);

public sealed record ExportRequest(string? Codec);

/// <summary>A request's own webhook: its id (for its delivery log) and signing secret.</summary>
public sealed record OneOffWebhook(string Id, string Secret);

public sealed record RequirementsAccepted(string JobId, string ProjectId, string Status, string StatusUrl, OneOffWebhook? Webhook);

public sealed record JobResult(string? SnapshotId, Uri? PreviewUrl, DateTimeOffset? PreviewExpiresAt, Uri? ExportUrl, string? Reply);

/// <summary>
/// A job as <c>GET /api/jobs/{id}</c> shows it. <see cref="Timings"/> holds the time each phase began. The preview URL is
/// minted per request, and only while the project's session runs (a session the job started is stopped when it ends).
/// </summary>
public sealed record JobResponse(
    string JobId, string ProjectId, string Status, string Phase, DateTimeOffset CreatedAt, DateTimeOffset Deadline,
    DateTimeOffset? FinishedAt, double? DurationMs, IReadOnlyDictionary<string, DateTimeOffset> Timings, int Attempts, string? Error, JobResult? Result);

/// <summary>The <c>data</c> of <c>job.completed</c> and <c>job.failed</c> deliveries.</summary>
public sealed record JobEvent(
    string JobId, string ProjectId, string Status, string? SnapshotId, string? Reply, string? Error, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt)
{
    internal static JobEvent From(string jobId, JobDocument job) =>
        new(jobId, job.ProjectId, job.Status, job.SnapshotId, job.Reply, job.Error, job.CreatedAt, job.FinishedAt);
}
