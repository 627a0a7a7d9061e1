namespace StoryDream.Api.Exports;

internal interface IExportStore
{
    Task<Export> CreateAsync(Export export, CancellationToken cancellationToken);

    Task<Export?> GetAsync(string projectId, string exportId, CancellationToken cancellationToken);

    /// <summary>The project's exports, newest first.</summary>
    Task<IReadOnlyList<Export>> ListAsync(string projectId, int limit, CancellationToken cancellationToken);

    /// <summary>Writes <paramref name="export"/> over the version it was read at; <c>null</c> when that version is no longer current.</summary>
    Task<Export?> TryReplaceAsync(Export export, CancellationToken cancellationToken);
}
