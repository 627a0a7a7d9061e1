namespace StoryDream.Api.Exports;

/// <summary><c>POST /api/projects/{id}/exports</c>: the head when no snapshot is named; <c>quality</c> is x264's CRF (1 best to 51).</summary>
internal sealed record CreateExportRequest(string? SnapshotId, string? Composition, string? Codec, int? Quality);

internal sealed record ExportResponse(
    string Id, string ProjectId, string Status, int Progress, DateTimeOffset LastUpdate, string SnapshotId, string? Composition, string Codec,
    int? Quality, long? Size, long? DurationMs, string? Error, int Attempt, DateTimeOffset CreatedAt, string? DownloadUrl)
{
    public static ExportResponse From(Export e) => new(
        e.Id, e.ProjectId, e.Status, e.Progress, e.LastUpdate, e.SnapshotId, e.Composition, e.Codec, e.Quality, e.Size, e.DurationMs, e.Error,
        e.Attempt, e.CreatedAt, e.Status == ExportStatuses.Complete ? $"/api/projects/{e.ProjectId}/exports/{e.Id}/download" : null);
}

internal sealed record ExportList(IReadOnlyList<ExportResponse> Items);

/// <summary>A short-lived link to the MP4: absolute (signed Cloud Storage) or relative to the API's origin (the emulator's route).</summary>
internal sealed record DownloadLinkResponse(string Url, DateTimeOffset ExpiresAt);
