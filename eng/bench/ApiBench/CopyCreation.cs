using System.Text;
using StoryDream.GoogleCloud.Firestore;
using Google.Cloud.Storage.V1;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Snapshots;

namespace ApiBench;

/// <summary>
/// The baseline: project creation as a naive implementation would do it, copying every file of a 200-file template
/// into the new project's own storage, 8 files at a time through the API's own <see cref="StorageClient"/>, either
/// as a server-side copy per file from the template's objects or as an upload per file of the template's bytes (held
/// in memory, as the API holds its templates), then writing the same project and history documents the API writes.
/// Called in-process, so it pays no HTTP hop and no auth: the comparison favours the baseline.
/// </summary>
internal sealed class CopyCreation(StorageClient storage, StorageOptions options, FirestoreClient firestore)
{
    public const int FileCount = 200;
    private const int Parallelism = 8;
    private const string TemplateId = "bench-copy";
    private const string TemplatePrefix = "templates/" + TemplateId + "/";

    private Dictionary<string, byte[]> _contents = [];
    private IReadOnlyList<ManifestEntry> _files = [];
    private string _snapshotId = "";
    private long _totalBytes;

    public long TotalBytes => _totalBytes;

    /// <summary>
    /// Uploads the template once: 200 text files of a Remotion project's usual sizes (0.5 to 8 KB, about 0.8 MB in all),
    /// the same on every run.
    /// </summary>
    public async Task SeedTemplateAsync()
    {
        var random = new Random(200);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i < FileCount; i++)
        {
            var folder = (i % 4) switch { 0 => "components", 1 => "scenes", 2 => "lib", _ => "assets" };
            files[$"src/{folder}/File{i:D3}.tsx"] = Text(random, random.Next(512, 8 * 1024 + 1));
        }
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (file, ct) =>
            await storage.UploadObjectAsync(options.Bucket, TemplatePrefix + file.Key, "text/plain", new MemoryStream(file.Value), options.Upload(), ct));
        var manifest = SnapshotManifest.Create(files.Select(f => new ManifestEntry(f.Key, Sha256Hex.Of(f.Value), f.Value.Length)));
        _contents = files;
        _files = manifest.Entries;
        _snapshotId = manifest.Id;
        _totalBytes = manifest.TotalBytes;
    }

    /// <summary>Creates one project by uploading the template's files; returns its id.</summary>
    public async Task<string> UploadAsync(string ownerId, string name)
    {
        var projectId = Guid.NewGuid().ToString("D");
        await Parallel.ForEachAsync(_contents, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (file, ct) =>
            await storage.UploadObjectAsync(options.Bucket, $"repos/{projectId}/files/{file.Key}", "text/plain", new MemoryStream(file.Value), options.Upload(), ct));
        await WriteDocumentsAsync(projectId, ownerId, name);
        return projectId;
    }

    /// <summary>Creates one project by server-side copies of the template's objects; returns its id.</summary>
    public async Task<string> CopyAsync(string ownerId, string name)
    {
        var projectId = Guid.NewGuid().ToString("D");
        await Parallel.ForEachAsync(_files, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (file, ct) =>
            await storage.CopyObjectAsync(options.Bucket, TemplatePrefix + file.Path, options.Bucket, $"repos/{projectId}/files/{file.Path}", cancellationToken: ct));
        await WriteDocumentsAsync(projectId, ownerId, name);
        return projectId;
    }

    /// <summary>
    /// The one commit every creation makes, copying or not: the project document and its first history entry, the
    /// same writes as the API's. Alone, it is the floor under a creation's time.
    /// </summary>
    public async Task WriteDocumentsAsync(string projectId, string ownerId, string name)
    {
        var now = DateTimeOffset.UtcNow;
        await firestore.CommitAsync(
        [
            Write.Create(SnapshotDocuments.Project(projectId), new Dictionary<string, object?>
            {
                ["ownerId"] = ownerId,
                ["name"] = name,
                ["description"] = null,
                ["templateId"] = TemplateId,
                [SnapshotDocuments.HeadField] = _snapshotId,
                ["videoSettings"] = new Dictionary<string, object?> { ["width"] = 1920, ["height"] = 1080, ["fps"] = 30, ["durationInFrames"] = 300 },
                [SnapshotDocuments.CreatedAtField] = now,
                [SnapshotDocuments.UpdatedAtField] = now,
            }),
            SnapshotDocuments.TemplateEntry(projectId, TemplateId, _snapshotId, _files.Count, _totalBytes),
        ]);
    }

    /// <summary>Checks that a creation left every template file in the project's storage.</summary>
    public async Task CheckCopiedAsync(string projectId)
    {
        var copied = 0;
        await foreach (var item in storage.ListObjectsAsync(options.Bucket, $"repos/{projectId}/files/")) { copied++; }
        if (copied != _files.Count) { throw new InvalidOperationException($"The copy left {copied} files, not {_files.Count}."); }
    }

    private static byte[] Text(Random random, int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 <>{}();=.,\n";
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++) { text.Append(alphabet[random.Next(alphabet.Length)]); }
        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
