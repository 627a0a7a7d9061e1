namespace StoryDream.Api.Headless;

/// <summary>The body of <c>POST /api/requirements</c>.</summary>
public sealed record RequirementsRequest(
    string? ProjectId, string? Name, string? Requirements, string? TemplateId, ExportRequest? Export, string? WebhookUrl);

/// <summary>An export of the job's snapshot once the agent is done; <c>codec</c> as <c>POST .../exports</c> takes it (default h264).</summary>
public sealed record ExportRequest(string? Codec);

/// <summary>A request's own webhook: its id (for its delivery log) and signing secret.</summary>
public sealed record OneOffWebhook(string Id, string Secret);

public sealed record RequirementsAccepted(string JobId, string ProjectId, string Status, string StatusUrl, OneOffWebhook? Webhook);

/// <summary>
/// What a complete job made. <see cref="ExportUrl"/> is a short-lived download link to the MP4 (a signed URL in production,
/// relative to the API otherwise), minted per request like the preview URL.
/// </summary>
public sealed record JobResult(
    string? SnapshotId, Uri? PreviewUrl, DateTimeOffset? PreviewExpiresAt, string? ExportId, Uri? ExportUrl, DateTimeOffset? ExportExpiresAt, string? Reply);

/// <summary>The job's export as it stands (progress 0-100 while it renders), read from the export itself.</summary>
public sealed record JobExport(string ExportId, string Codec, string Status, int Progress, long? Size, long? DurationMs, string? Error);

/// <summary>
/// A job as <c>GET /api/jobs/{id}</c> shows it. <see cref="Timings"/> holds the time each phase began. The preview URL is
/// minted per request, and only while the project's session runs (a session the job started is stopped when it ends).
/// <see cref="Export"/> is there once a job that asked for one has started its export (not in lists).
/// </summary>
public sealed record JobResponse(
    string JobId, string ProjectId, string Status, string Phase, DateTimeOffset CreatedAt, DateTimeOffset Deadline,
    DateTimeOffset? FinishedAt, double? DurationMs, IReadOnlyDictionary<string, DateTimeOffset> Timings, int Attempts, string? Error, JobResult? Result,
    JobExport? Export);

/// <summary>The <c>data</c> of <c>job.completed</c> and <c>job.failed</c> deliveries.</summary>
public sealed record JobEvent(
    string JobId, string ProjectId, string Status, string? SnapshotId, string? ExportId, string? Reply, string? Error, DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt)
{
    internal static JobEvent From(string jobId, JobDocument job) =>
        new(jobId, job.ProjectId, job.Status, job.SnapshotId, job.ExportId, job.Reply, job.Error, job.CreatedAt, job.FinishedAt);
}

/// <summary>
/// The <c>data</c> of <c>export.completed</c>. <see cref="DownloadUrl"/> works until <see cref="DownloadUrlExpiresAt"/> (a
/// signed URL in production, relative to the API otherwise); after that, <c>GET</c> <see cref="StatusUrl"/> mints a fresh
/// one (<c>result.exportUrl</c>).
/// </summary>
public sealed record ExportEvent(
    string JobId, string ProjectId, string ExportId, string SnapshotId, string Codec, long? Size, long? DurationMs, Uri DownloadUrl,
    DateTimeOffset DownloadUrlExpiresAt, string StatusUrl);
