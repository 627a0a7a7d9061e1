using System.Buffers.Binary;

namespace StoryDream.Api.Assets;

/// <summary>An upload's type as its bytes say, and the file name endings that type may have.</summary>
internal sealed record AssetType(string MediaType, string[] Extensions);

/// <summary>
/// Tells an upload's type from its bytes, never from the client's header or name: images (PNG, JPEG, GIF, WebP), audio
/// (MP3, WAV, Ogg) and video (MP4/MOV, WebM). Anything else is refused, SVG included (it is a document that can carry
/// script, served from the preview's origin). The formats whose length is written in the file (PNG's end chunk, JPEG's
/// end marker, GIF's trailer, RIFF's size, the MP4 box chain) are also checked to be whole, so a truncated file is refused.
/// </summary>
internal static class AssetTypes
{
    public static readonly AssetType Png = new("image/png", [".png"]);
    public static readonly AssetType Jpeg = new("image/jpeg", [".jpg", ".jpeg"]);
    public static readonly AssetType Gif = new("image/gif", [".gif"]);
    public static readonly AssetType WebP = new("image/webp", [".webp"]);
    public static readonly AssetType Mp3 = new("audio/mpeg", [".mp3"]);
    public static readonly AssetType Wav = new("audio/wav", [".wav"]);
    public static readonly AssetType Ogg = new("audio/ogg", [".ogg", ".oga", ".opus"]);
    public static readonly AssetType Mp4 = new("video/mp4", [".mp4", ".m4v", ".mov", ".m4a"]);
    public static readonly AssetType WebM = new("video/webm", [".webm"]);

    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly byte[] PngEnd = [0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82];
    private static readonly byte[] JpegStart = [0xFF, 0xD8, 0xFF];
    private static readonly byte[] JpegEnd = [0xFF, 0xD9];
    private static readonly byte[] WebMStart = [0x1A, 0x45, 0xDF, 0xA3];

    public static string Supported => "PNG, JPEG, GIF, WebP, MP3, WAV, Ogg, MP4/MOV and WebM";

    /// <summary>The type of <paramref name="content"/>; null when it is none of the supported ones.</summary>
    public static AssetType? Detect(ReadOnlySpan<byte> content)
    {
        if (content.StartsWith(PngSignature)) { return Png; }
        if (content.StartsWith(JpegStart)) { return Jpeg; }
        if (content.StartsWith("GIF87a"u8) || content.StartsWith("GIF89a"u8)) { return Gif; }
        if (content.Length >= 12 && content.StartsWith("RIFF"u8))
        {
            if (content[8..12].SequenceEqual("WEBP"u8)) { return WebP; }
            if (content[8..12].SequenceEqual("WAVE"u8)) { return Wav; }
            return null;
        }
        if (content.StartsWith("ID3"u8) || (content.Length >= 2 && content[0] == 0xFF && (content[1] & 0xE0) == 0xE0)) { return Mp3; }
        if (content.StartsWith("OggS"u8)) { return Ogg; }
        if (content.Length >= 8 && content[4..8].SequenceEqual("ftyp"u8)) { return Mp4; }
        if (content.StartsWith(WebMStart)) { return WebM; }
        return null;
    }

    /// <summary>Whether a file of <paramref name="type"/> is whole, where its format says how long it is.</summary>
    public static bool IsComplete(AssetType type, ReadOnlySpan<byte> content)
    {
        if (type == Png) { return content.EndsWith(PngEnd); }
        if (type == Jpeg) { return content.EndsWith(JpegEnd); }
        if (type == Gif) { return content.Length > 0 && content[^1] == 0x3B; }
        if (type == WebP || type == Wav) { return BinaryPrimitives.ReadUInt32LittleEndian(content[4..8]) + 8L <= content.Length; }
        if (type == Mp4) { return BoxesEndAtTheEnd(content); }
        return true;
    }

    private static bool BoxesEndAtTheEnd(ReadOnlySpan<byte> content)
    {
        long position = 0;
        while (position < content.Length)
        {
            if (content.Length - position < 8) { return false; }
            long size = BinaryPrimitives.ReadUInt32BigEndian(content.Slice((int)position, 4));
            if (size == 1)
            {
                if (content.Length - position < 16) { return false; }
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(content.Slice((int)position + 8, 8));
            }
            else if (size == 0)
            {
                return true; // The last box runs to the end of the file.
            }
            if (size < 8) { return false; }
            position += size;
        }
        return position == content.Length;
    }
}
