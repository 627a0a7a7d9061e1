namespace StoryDream.Snapshots;

/// <summary>
/// What changed from one tree to another: files added, files whose content changed (with their new entry), and
/// paths deleted. Applying it to a third tree is how a writer that lost the head race rebases its change.
/// </summary>
public sealed record TreeDiff(IReadOnlyList<ManifestEntry> Added, IReadOnlyList<ManifestEntry> Modified, IReadOnlyList<string> Deleted)
{
    public bool IsEmpty => Added.Count == 0 && Modified.Count == 0 && Deleted.Count == 0;

    public static TreeDiff Compute(SnapshotManifest from, SnapshotManifest to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var added = new List<ManifestEntry>();
        var modified = new List<ManifestEntry>();
        foreach (var entry in to.Entries)
        {
            var before = from.Find(entry.Path);
            if (before is null) { added.Add(entry); }
            else if (!string.Equals(before.Sha256, entry.Sha256, StringComparison.Ordinal)) { modified.Add(entry); }
        }
        var deleted = from.Entries.Where(e => !to.Contains(e.Path)).Select(e => e.Path).ToList();
        return new TreeDiff(added, modified, deleted);
    }

    /// <summary>
    /// This change on top of <paramref name="baseTree"/>: added and modified files are set, deleted ones removed.
    /// Where both sides touched a path, this change wins (last writer), which is what a rebase of a newer edit means.
    /// </summary>
    public SnapshotManifest ApplyTo(SnapshotManifest baseTree)
    {
        ArgumentNullException.ThrowIfNull(baseTree);
        var files = baseTree.Entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        foreach (var entry in Added.Concat(Modified)) { files[entry.Path] = entry; }
        foreach (var path in Deleted) { files.Remove(path); }
        return SnapshotManifest.Create(files.Values);
    }
}
