using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace StoryDream.Sessions;

/// <summary>
/// Short-lived HMAC tokens the API issues for one session and one user and the gateway checks before it lets preview
/// traffic through. Format: <c>v1.{sessionId}.{base64url(userId)}.{expiresUnixSeconds}.{base64url(hmac)}</c>. The key is
/// configuration shared by the two services (<c>Sessions:PreviewTokenKey</c>, base64, at least 32 bytes).
/// </summary>
public sealed class PreviewTokens
{
    private const string Version = "v1";
    private const int MinimumKeyBytes = 32;
    private readonly byte[] _key;
    private readonly TimeProvider _time;

    public PreviewTokens(byte[] key, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(time);
        if (key.Length < MinimumKeyBytes)
        {
            throw new ArgumentException($"The preview token key must be at least {MinimumKeyBytes} bytes.", nameof(key));
        }
        _key = key;
        _time = time;
    }

    /// <summary>Reads a base64 key from configuration and says which setting is wrong when it is unusable.</summary>
    public static PreviewTokens FromBase64Key(string? base64Key, TimeProvider time)
    {
        if (string.IsNullOrWhiteSpace(base64Key))
        {
            throw new InvalidOperationException("Sessions:PreviewTokenKey is not set: give it a base64 key of at least 32 random bytes (the app host generates one in development).");
        }
        try
        {
            return new PreviewTokens(Convert.FromBase64String(base64Key), time);
        }
        catch (FormatException)
        {
            throw new InvalidOperationException("Sessions:PreviewTokenKey is not valid base64.");
        }
    }

    public string Issue(string sessionId, string userId, TimeSpan lifetime)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionId);
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (sessionId.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException("A session id cannot contain '.'.", nameof(sessionId));
        }
        var expires = _time.GetUtcNow().Add(lifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var payload = $"{Version}.{sessionId}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(userId))}.{expires}";
        return $"{payload}.{Sign(payload)}";
    }

    /// <summary>The user id the token was issued to, when it is authentic, unexpired and for <paramref name="sessionId"/>.</summary>
    public string? Validate(string? token, string sessionId)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 1024) { return null; }
        var parts = token.Split('.');
        if (parts.Length != 5 || parts[0] != Version) { return null; }

        var payload = string.Join('.', parts, 0, 4);
        var expected = Encoding.ASCII.GetBytes(Sign(payload));
        if (!CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[4]))) { return null; }
        if (!string.Equals(parts[1], sessionId, StringComparison.Ordinal)) { return null; }
        if (!long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || _time.GetUtcNow().ToUnixTimeSeconds() >= expires)
        {
            return null;
        }
        try
        {
            return Encoding.UTF8.GetString(Base64Url.DecodeFromChars(parts[2]));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private string Sign(string payload) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(payload)));
}
