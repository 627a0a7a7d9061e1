using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace StoryDream.Api.Webhooks;

/// <summary>
/// Stripe's scheme: <c>StoryDream-Signature: t={unix seconds},v1={hex HMAC-SHA256(secret, t + "." + body)}</c>. The
/// timestamp is signed with the body, so a receiver that checks freshness cannot be fed an old delivery again. The README
/// shows this verifier for receivers to copy.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "StoryDream-Signature";
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    public static string Sign(string secret, DateTimeOffset time, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var t = time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"t={t},v1={Convert.ToHexStringLower(Mac(secret, t, body))}";
    }

    /// <summary>
    /// Whether <paramref name="header"/> signs <paramref name="body"/> with <paramref name="secret"/> at a time within
    /// <paramref name="tolerance"/> of <paramref name="now"/>. Compares in constant time; any v1 entry may match (a
    /// rotated secret).
    /// </summary>
    public static bool Verify(string secret, string? header, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan tolerance)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (string.IsNullOrEmpty(header)) { return false; }
        string? t = null;
        var candidates = new List<byte[]>();
        foreach (var part in header.Split(','))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) { continue; }
            var (name, value) = (part[..eq].Trim(), part[(eq + 1)..].Trim());
            if (name == "t") { t = value; }
            else if (name == "v1" && value.Length == 64)
            {
                try { candidates.Add(Convert.FromHexString(value)); }
                catch (FormatException) { }
            }
        }
        if (t is null || candidates.Count == 0
            || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(now.ToUnixTimeSeconds() - seconds) > tolerance.TotalSeconds)
        {
            return false;
        }
        var expected = Mac(secret, t, body);
        var match = false;
        foreach (var candidate in candidates) { match |= CryptographicOperations.FixedTimeEquals(candidate, expected); }
        return match;
    }

    public static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Mac(string secret, string t, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(t + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message);
    }
}
