using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using StoryDream.Snapshots;

namespace StoryDream.Api.Snapshots;

/// <summary>A template's tree, stored as a snapshot: a new project's head is <see cref="SnapshotId"/>.</summary>
internal sealed record TemplateSnapshot(string TemplateId, string SnapshotId, int FileCount, long TotalBytes);

/// <summary>
/// The templates on disk, each read once into a manifest (only files under the synced workspace roots), and seeded
/// into the snapshot store on first use. Seeding is content-addressed and idempotent; a failed seed is retried by the
/// next caller rather than remembered.
/// </summary>
internal sealed partial class TemplateCatalog
{
    public const string DefaultTemplateId = "default";

    private readonly ISnapshotStore _store;
    private readonly ILogger<TemplateCatalog> _logger;
    private readonly Dictionary<string, string> _folders;
    private readonly ConcurrentDictionary<string, Lazy<Task<TemplateSnapshot>>> _seeded = new(StringComparer.Ordinal);

    public TemplateCatalog(IOptions<TemplateOptions> options, IHostEnvironment environment, ISnapshotStore store, ILogger<TemplateCatalog> logger)
    {
        _store = store;
        _logger = logger;
        var root = options.Value.ResolveRoot(environment.ContentRootPath);
        _folders = Directory.EnumerateDirectories(root)
            .Where(dir => IsTemplateId(Path.GetFileName(dir)))
            .ToDictionary(dir => Path.GetFileName(dir), dir => dir, StringComparer.Ordinal);
        if (!_folders.ContainsKey(DefaultTemplateId))
        {
            throw new InvalidOperationException($"The templates folder {root} has no '{DefaultTemplateId}' template.");
        }
    }

    public IReadOnlyCollection<string> TemplateIds => _folders.Keys;

    public bool Exists(string templateId) => _folders.ContainsKey(templateId);

    /// <summary>The template's snapshot, seeding it first if this process has not yet.</summary>
    public async Task<TemplateSnapshot> GetAsync(string templateId, CancellationToken cancellationToken)
    {
        if (!_folders.TryGetValue(templateId, out var folder)) { throw new ArgumentException($"Unknown template '{templateId}'.", nameof(templateId)); }
        var lazy = _seeded.GetOrAdd(templateId, id => new Lazy<Task<TemplateSnapshot>>(() => SeedAsync(id, folder)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken);
        }
        catch (Exception) when (lazy.Value.IsFaulted)
        {
            _seeded.TryRemove(new KeyValuePair<string, Lazy<Task<TemplateSnapshot>>>(templateId, lazy));
            throw;
        }
    }

    private async Task<TemplateSnapshot> SeedAsync(string templateId, string folder)
    {
        var files = ReadFiles(folder);
        var manifest = SnapshotManifest.Create(files.Select(f => new ManifestEntry(f.Key, Sha256Hex.Of(f.Value.Span), f.Value.Length)));
        // Not the caller's token: the seed is shared by every request waiting on it.
        await _store.WriteTemplateAsync(templateId, files, manifest, CancellationToken.None);
        LogSeeded(_logger, templateId, manifest.Id, manifest.FileCount);
        return new TemplateSnapshot(templateId, manifest.Id, manifest.FileCount, manifest.TotalBytes);
    }

    /// <summary>The files under the workspace roots, keyed by their snapshot path.</summary>
    internal static Dictionary<string, ReadOnlyMemory<byte>> ReadFiles(string folder)
    {
        var files = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        foreach (var root in SnapshotPath.WorkspaceRoots)
        {
            var dir = Path.Combine(folder, root);
            if (!Directory.Exists(dir)) { continue; }
            var enumeration = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };
            foreach (var file in Directory.EnumerateFiles(dir, "*", enumeration))
            {
                var path = Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/');
                if (SnapshotPath.Problem(path) is { } problem)
                {
                    throw new InvalidOperationException($"Template file {file} cannot be stored: {problem}");
                }
                files[path] = File.ReadAllBytes(file);
            }
        }
        return files;
    }

    private static bool IsTemplateId(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Template {TemplateId} is snapshot {SnapshotId} ({FileCount} files)")]
    private static partial void LogSeeded(ILogger logger, string templateId, string snapshotId, int fileCount);
}
