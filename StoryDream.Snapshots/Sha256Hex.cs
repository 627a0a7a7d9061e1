using System.Security.Cryptography;

namespace StoryDream.Snapshots;

/// <summary>Lower-case hex SHA-256, the form of blob names and snapshot ids.</summary>
public static class Sha256Hex
{
    public const int Length = 64;

    public static string Of(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));

    public static async Task<string> OfAsync(Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(content, cancellationToken));
    }

    public static bool IsValid(string? value)
    {
        if (value is not { Length: Length }) { return false; }
        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) { return false; }
        }
        return true;
    }
}
