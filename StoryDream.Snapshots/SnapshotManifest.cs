using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace StoryDream.Snapshots;

/// <summary>
/// An immutable tree: its files sorted by path (UTF-8 byte order) and written as compact JSON
/// <c>[{"path":…,"sha256":…,"size":…}]</c>. That canonical text is the manifest stored in Cloud Storage, and its
/// SHA-256 is the snapshot id, so the same tree always has the same id.
/// </summary>
public sealed class SnapshotManifest
{
    public const int MaxFiles = 50_000;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // One fixed encoder so the bytes never depend on a default that could change; paths hold no characters
        // (quotes aside) that it would escape differently.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    private readonly Dictionary<string, ManifestEntry> _byPath;

    private SnapshotManifest(List<ManifestEntry> sorted)
    {
        Entries = sorted;
        _byPath = sorted.ToDictionary(e => e.Path, StringComparer.Ordinal);
        CanonicalJson = Write(sorted);
        Id = Sha256Hex.Of(CanonicalJson);
        TotalBytes = sorted.Sum(e => e.Size);
    }

    public static SnapshotManifest Empty { get; } = new([]);

    /// <summary>SHA-256 (lower-case hex) of <see cref="CanonicalJson"/>.</summary>
    public string Id { get; }

    public IReadOnlyList<ManifestEntry> Entries { get; }

    public byte[] CanonicalJson { get; }

    public int FileCount => Entries.Count;

    public long TotalBytes { get; }

    public ManifestEntry? Find(string path) => _byPath.GetValueOrDefault(path);

    public bool Contains(string path) => _byPath.ContainsKey(path);

    /// <summary>Builds a manifest, refusing invalid paths, hashes, sizes and duplicate paths.</summary>
    public static SnapshotManifest Create(IEnumerable<ManifestEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = new List<ManifestEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            ArgumentNullException.ThrowIfNull(entry);
            if (SnapshotPath.Problem(entry.Path) is { } problem)
            {
                throw new InvalidManifestException($"Invalid path '{entry.Path}': {problem}");
            }
            if (!Sha256Hex.IsValid(entry.Sha256))
            {
                throw new InvalidManifestException($"Invalid sha256 for '{entry.Path}': expected 64 lower-case hex digits.");
            }
            if (entry.Size < 0) { throw new InvalidManifestException($"Negative size for '{entry.Path}'."); }
            if (!seen.Add(entry.Path)) { throw new InvalidManifestException($"Duplicate path '{entry.Path}'."); }
            if (list.Count == MaxFiles) { throw new InvalidManifestException($"A snapshot holds at most {MaxFiles} files."); }
            list.Add(entry);
        }
        // Pods and stored manifests come sorted already; checking costs one comparison per entry.
        if (!IsSorted(list)) { list.Sort((a, b) => SnapshotPath.Order.Compare(a.Path, b.Path)); }
        return new SnapshotManifest(list);
    }

    /// <summary>Reads a stored manifest; any JSON that is not a valid manifest is refused.</summary>
    public static SnapshotManifest Parse(ReadOnlySpan<byte> json)
    {
        List<ManifestEntry>? entries;
        try
        {
            entries = JsonSerializer.Deserialize(json, ManifestJsonContext.Default.ListManifestEntry);
        }
        catch (JsonException e)
        {
            throw new InvalidManifestException($"The manifest is not valid JSON: {e.Message}");
        }
        if (entries is null || entries.Any(e => e is null || e.Path is null || e.Sha256 is null))
        {
            throw new InvalidManifestException("The manifest must be an array of {path, sha256, size}.");
        }
        return Create(entries);
    }

    private static bool IsSorted(List<ManifestEntry> entries)
    {
        for (var i = 1; i < entries.Count; i++)
        {
            if (SnapshotPath.Order.Compare(entries[i - 1].Path, entries[i].Path) > 0) { return false; }
        }
        return true;
    }

    private static byte[] Write(List<ManifestEntry> sorted)
    {
        // Sized for the usual entry (a path of a few dozen bytes, the hash, the size), so the buffer rarely grows.
        var buffer = new ArrayBufferWriter<byte>(2 + (sorted.Count * 160));
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartArray();
            foreach (var entry in sorted)
            {
                writer.WriteStartObject();
                writer.WriteString("path", entry.Path);
                writer.WriteString("sha256", entry.Sha256);
                writer.WriteNumber("size", entry.Size);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        return buffer.WrittenSpan.ToArray();
    }
}

public sealed class InvalidManifestException(string message) : Exception(message);
