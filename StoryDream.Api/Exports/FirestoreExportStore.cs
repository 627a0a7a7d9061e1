using StoryDream.GoogleCloud.Firestore;
using StoryDream.Snapshots;

namespace StoryDream.Api.Exports;

/// <summary><c>projects/{projectId}/exports/{exportId}</c> in Firestore.</summary>
internal sealed class FirestoreExportStore(FirestoreClient firestore) : IExportStore
{
    public async Task<Export> CreateAsync(Export export, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(export);
        var version = await firestore.CreateAsync(Path(export.ProjectId, export.Id), ExportDocument.From(export), cancellationToken);
        return export with { Version = version };
    }

    public async Task<Export?> GetAsync(string projectId, string exportId, CancellationToken cancellationToken)
    {
        var document = await firestore.GetAsync<ExportDocument>(Path(projectId, exportId), cancellationToken);
        return document?.Data.ToExport(exportId, projectId, document.UpdateTime);
    }

    public async Task<IReadOnlyList<Export>> ListAsync(string projectId, int limit, CancellationToken cancellationToken)
    {
        var query = StructuredQuery.Collection($"{SnapshotDocuments.Project(projectId)}/exports")
            .OrderByDescending("createdAt")
            .OrderByDescending(StructuredQuery.DocumentId)
            .Limit(limit);
        var documents = await firestore.RunQueryAsync<ExportDocument>(query, cancellationToken);
        return [.. documents.Select(d => d.Data.ToExport(d.Id, projectId, d.UpdateTime))];
    }

    public async Task<Export?> TryReplaceAsync(Export export, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(export);
        try
        {
            var version = await firestore.SetAsync(Path(export.ProjectId, export.Id), ExportDocument.From(export), Precondition.UpdatedAt(export.Version), cancellationToken);
            return export with { Version = version };
        }
        catch (FirestoreException e) when (e.Status is FirestoreStatus.FailedPrecondition or FirestoreStatus.NotFound)
        {
            return null;
        }
    }

    private static string Path(string projectId, string exportId) => $"{SnapshotDocuments.Project(projectId)}/exports/{exportId}";

    internal sealed record ExportDocument(
        string OwnerId, string Status, int Progress, DateTimeOffset LastUpdate, string SnapshotId, string? Composition, string Codec, int? Quality,
        long? Size, long? DurationMs, string? Error, int Attempt, string? PodId, DateTimeOffset CreatedAt)
    {
        public static ExportDocument From(Export e) =>
            new(e.OwnerId, e.Status, e.Progress, e.LastUpdate, e.SnapshotId, e.Composition, e.Codec, e.Quality, e.Size, e.DurationMs, e.Error, e.Attempt, e.PodId, e.CreatedAt);

        public Export ToExport(string id, string projectId, DateTimeOffset version) =>
            new(id, projectId, OwnerId, Status, Progress, LastUpdate, SnapshotId, Composition, Codec, Quality, Size, DurationMs, Error, Attempt, PodId, CreatedAt, version);
    }
}
