using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace StoryDream.Api.Auth;

/// <summary>
/// An API key is <c>sdk_{clientId}_{secret}</c>: the client id names the <c>apiClients</c> document to check, so a
/// key is verified with one read, and the 256-bit random secret makes a slow hash unnecessary: only the SHA-256 of
/// the whole key is stored.
/// </summary>
internal static class ApiKeyFormat
{
    private const string Prefix = "sdk_";
    private const int ClientIdLength = 36;
    private const int SecretBytes = 32;
    private static readonly int SecretLength = Base64Url.GetEncodedLength(SecretBytes);

    public static string New(string clientId) =>
        $"{Prefix}{clientId}_{Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(SecretBytes))}";

    /// <summary>The client id a well-formed key names, or null.</summary>
    public static string? ClientId(string? key)
    {
        if (key is null || key.Length != Prefix.Length + ClientIdLength + 1 + SecretLength) { return null; }
        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || key[Prefix.Length + ClientIdLength] != '_') { return null; }
        var clientId = key.Substring(Prefix.Length, ClientIdLength);
        return Guid.TryParseExact(clientId, "D", out var parsed) && parsed.ToString("D") == clientId ? clientId : null;
    }

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static bool Verify(string key, string storedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(key)), Encoding.ASCII.GetBytes(storedHash));
}
