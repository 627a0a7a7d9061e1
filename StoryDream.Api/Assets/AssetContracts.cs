namespace StoryDream.Api.Assets;

/// <summary>
/// An uploaded asset: a file of the project's <c>public/</c> folder. <c>Name</c> is what <c>staticFile()</c> takes;
/// <c>SnapshotId</c> is the version the upload (or the listing) is of.
/// </summary>
internal sealed record AssetResponse(string Name, string Path, long Size, string Sha256, string ContentType, string SnapshotId);

internal sealed record AssetList(IReadOnlyList<AssetResponse> Items, string SnapshotId);
