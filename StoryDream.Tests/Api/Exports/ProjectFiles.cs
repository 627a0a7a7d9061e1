using System.Text;
using StoryDream.Snapshots;
using StoryDream.Tests.Api.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Exports;

/// <summary>Edits a project's files as a sync would: blobs, a manifest, a new head (author user).</summary>
internal static class ProjectFiles
{
    public static string TemplateFile(string path) => File.ReadAllText(Path.Combine(RepositoryPaths.Root, "templates", "default", path));

    /// <summary>The template's composition made small and short, so a test's render takes seconds, not minutes.</summary>
    public static string SmallComposition(int durationInFrames = 90) => TemplateFile("src/compositions/MyVideo.tsx")
        .Replace("width: 1920", "width: 320", StringComparison.Ordinal)
        .Replace("height: 1080", "height: 180", StringComparison.Ordinal)
        .Replace("durationInFrames: 150", $"durationInFrames: {durationInFrames}", StringComparison.Ordinal);

    public static async Task<string> CommitAsync(ApiReplica api, string projectId, IReadOnlyDictionary<string, string> files, CancellationToken cancellationToken)
    {
        var store = api.Service<ISnapshotStore>();
        var head = await store.ReadHeadAsync(projectId, cancellationToken) ?? throw new InvalidOperationException("No such project.");
        var tree = await store.ReadTreeAsync(projectId, head.SnapshotId, cancellationToken) ?? throw new InvalidOperationException("No head tree.");
        var entries = tree.Entries.Where(e => !files.ContainsKey(e.Path)).ToList();
        foreach (var (path, text) in files)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            entries.Add(new ManifestEntry(path, await store.PutBlobAsync(bytes, cancellationToken), bytes.Length));
        }
        var manifest = SnapshotManifest.Create(entries);
        await store.PutManifestAsync(projectId, manifest, cancellationToken);
        var result = await store.CommitAsync(new SnapshotCommit(projectId, head.SnapshotId, manifest, SnapshotAuthors.User, "Test edit", null, head.Version), cancellationToken);
        if (result.Status != CommitStatus.Committed) { throw new InvalidOperationException($"Commit: {result.Status}"); }
        return manifest.Id;
    }
}
