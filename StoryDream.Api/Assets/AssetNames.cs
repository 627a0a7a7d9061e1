using System.Text.RegularExpressions;

namespace StoryDream.Api.Assets;

/// <summary>
/// The names an upload may have. Strict on purpose: the name becomes a file in the pod's workspace, a path in the
/// snapshot and a URL in the preview, so only plain ASCII names are taken (no folders, no leading dot, no '..').
/// </summary>
internal static partial class AssetNames
{
    public const string Folder = "public";
    public const int MaxLength = 100;

    /// <summary>Why <paramref name="name"/> cannot be an asset's name, or null when it can.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name)) { return "The file has no name."; }
        if (name.Length > MaxLength) { return $"The file name is longer than {MaxLength} characters."; }
        if (!Plain().IsMatch(name) || name.Contains("..", StringComparison.Ordinal))
        {
            return "The file name may hold only letters a-z and A-Z, digits, '.', '-' and '_', start with a letter or digit, have no '..', and end with its type's extension (logo.png).";
        }
        return null;
    }

    public static string PathOf(string name) => $"{Folder}/{name}";

    /// <summary>The asset name of a snapshot path under <c>public/</c>; null for any other path.</summary>
    public static string? NameOf(string path) => path.StartsWith(Folder + "/", StringComparison.Ordinal) ? path[(Folder.Length + 1)..] : null;

    public static string ContentType(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".png" => AssetTypes.Png.MediaType,
        ".jpg" or ".jpeg" => AssetTypes.Jpeg.MediaType,
        ".gif" => AssetTypes.Gif.MediaType,
        ".webp" => AssetTypes.WebP.MediaType,
        ".mp3" => AssetTypes.Mp3.MediaType,
        ".wav" => AssetTypes.Wav.MediaType,
        ".ogg" or ".oga" or ".opus" => AssetTypes.Ogg.MediaType,
        ".mp4" or ".m4v" or ".mov" or ".m4a" => AssetTypes.Mp4.MediaType,
        ".webm" => AssetTypes.WebM.MediaType,
        _ => "application/octet-stream",
    };

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*\.[A-Za-z0-9]+$")]
    private static partial Regex Plain();
}
