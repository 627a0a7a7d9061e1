using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Assets;

internal sealed class AssetOptions
{
    public const string SectionName = "Assets";

    /// <summary>
    /// The largest upload. 50 MB by default rather than the 100 MB: an asset is a file of the project's tree, and
    /// the sync worker and the pods refuse files over their per-file limit (<c>SyncWorker:MaxFileBytes</c>, 50 MB), so a
    /// larger asset would make the project impossible to load into a session. Raise both together.
    /// </summary>
    [Range(1, 1024L * 1024 * 1024)]
    public long MaxBytes { get; set; } = 50L * 1024 * 1024;
}
