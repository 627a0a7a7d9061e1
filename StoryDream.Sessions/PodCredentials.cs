using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace StoryDream.Sessions;

/// <summary>
/// The per-session credentials of DESIGN section 8. The pod secret authenticates the API, the sync worker and the gateway
/// to the pod (its :3000, :3001 and :3002 want it as <c>Authorization: Bearer</c>) and lets the pod prove who it is
/// (<see cref="PodIdentity"/>). The model token authenticates the pod to the model proxy; only its hash is stored.
/// </summary>
public static class PodCredentials
{
    private const string ModelTokenPrefix = "sdm1";

    /// <summary>32 random bytes, base64url: 43 characters, above the pod's 32-character minimum.</summary>
    public static string NewPodSecret() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary><c>sdm1.{sessionId}.{random}</c>: the proxy finds the session from the token, then checks its hash.</summary>
    public static string NewModelToken(string sessionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        return $"{ModelTokenPrefix}.{sessionId}.{Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32))}";
    }

    /// <summary>The session a model token claims to belong to; null when it is not shaped like one.</summary>
    public static string? SessionOfModelToken(string? token)
    {
        if (token is null || token.Length > 200) { return null; }
        var parts = token.Split('.');
        return parts.Length == 3 && parts[0] == ModelTokenPrefix && Guid.TryParseExact(parts[1], "D", out _) && parts[2].Length >= 32 ? parts[1] : null;
    }

    /// <summary>SHA-256 hex of the token: a random 256-bit token needs no slow hash, and a leaked record does not give it away.</summary>
    public static string HashModelToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    public static bool ModelTokenMatches(string token, string? storedHash) =>
        storedHash is { Length: 64 }
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(HashModelToken(token)), Encoding.ASCII.GetBytes(storedHash));
}
