namespace StoryDream.Snapshots;

/// <summary>One file of a snapshot: its path, the SHA-256 (lower-case hex) of its content and its size in bytes.</summary>
public sealed record ManifestEntry(string Path, string Sha256, long Size);
