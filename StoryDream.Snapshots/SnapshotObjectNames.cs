namespace StoryDream.Snapshots;

/// <summary>The Cloud Storage layout of DESIGN section 2.</summary>
public static class SnapshotObjectNames
{
    public const string BlobPrefix = "blobs/";
    public const string RepoPrefix = "repos/";
    public const string TemplatePrefix = "templates/";
    private const string ManifestSuffix = ".json";

    public static string Blob(string sha256) => BlobPrefix + sha256;

    public static string ProjectManifests(string projectId) => $"{RepoPrefix}{projectId}/snapshots/";

    public static string ProjectManifest(string projectId, string snapshotId) => $"{ProjectManifests(projectId)}{snapshotId}{ManifestSuffix}";

    /// <summary>A template's tree is a snapshot like any other; only its manifest lives under the template's name.</summary>
    public static string TemplateManifest(string templateId, string snapshotId) => $"{TemplatePrefix}{templateId}/snapshots/{snapshotId}{ManifestSuffix}";

    /// <summary>The snapshot id a manifest object is named for, or null for any other object.</summary>
    public static string? ManifestId(string objectName)
    {
        ArgumentNullException.ThrowIfNull(objectName);
        if (!objectName.EndsWith(ManifestSuffix, StringComparison.Ordinal)) { return null; }
        var slash = objectName.LastIndexOf('/');
        var id = objectName[(slash + 1)..^ManifestSuffix.Length];
        return Sha256Hex.IsValid(id) && objectName[..(slash + 1)].EndsWith("/snapshots/", StringComparison.Ordinal) ? id : null;
    }
}
