using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace StoryDream.Api.Downloads;

/// <summary>
/// What the emulator's download route accepts in place of a signature: an HMAC over the user, the project, the object
/// and the expiry. Format: <c>v1.{projectId}.{base64url(userId)}.{base64url(objectName)}.{expiresUnixSeconds}.{base64url(hmac)}</c>.
/// The key is derived from the preview token key, so there is no second secret to configure.
/// </summary>
internal sealed class DownloadTokens(byte[] key, TimeProvider time)
{
    private const string Version = "v1";

    public static DownloadTokens FromPreviewKey(byte[] previewKey, TimeProvider time) =>
        new(HKDF.DeriveKey(HashAlgorithmName.SHA256, previewKey, 32, info: "storydream download links"u8.ToArray()), time);

    public string Issue(string userId, string projectId, string objectName, DateTimeOffset expiresAt)
    {
        var payload = string.Join('.', Version, projectId, Encode(userId), Encode(objectName),
            expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        return $"{payload}.{Sign(payload)}";
    }

    /// <summary>The user and object the token grants, when it is authentic, unexpired and for <paramref name="projectId"/>.</summary>
    public (string UserId, string ObjectName)? Validate(string? token, string projectId)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 4096) { return null; }
        var parts = token.Split('.');
        if (parts.Length != 6 || parts[0] != Version) { return null; }
        var payload = string.Join('.', parts, 0, 5);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(payload)), Encoding.ASCII.GetBytes(parts[5]))) { return null; }
        if (!string.Equals(parts[1], projectId, StringComparison.Ordinal)) { return null; }
        if (!long.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var expires) || time.GetUtcNow().ToUnixTimeSeconds() >= expires)
        {
            return null;
        }
        try
        {
            return (Decode(parts[2]), Decode(parts[3]));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string Encode(string text) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));

    private static string Decode(string text) => Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text));

    private string Sign(string payload) => Base64Url.EncodeToString(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(payload)));
}
