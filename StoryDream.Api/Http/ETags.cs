using Microsoft.Net.Http.Headers;

namespace StoryDream.Api.Http;

/// <summary>Strong, quoted entity tags and the <c>If-Match</c> / <c>If-None-Match</c> comparisons of RFC 9110.</summary>
internal static class ETags
{
    public static string Quote(string version) => $"\"{version}\"";

    /// <summary>
    /// The versions an <c>If-Match</c> header names; <c>*</c> is returned as itself. Weak tags never match
    /// (If-Match uses the strong comparison), and an unparsable header matches nothing.
    /// </summary>
    public static IReadOnlyList<string> StrongVersions(string? header)
    {
        if (string.IsNullOrWhiteSpace(header)) { return []; }
        if (!EntityTagHeaderValue.TryParseList([header], out var tags)) { return []; }
        return tags.Where(t => t.Equals(EntityTagHeaderValue.Any) || !t.IsWeak)
            .Select(t => t.Equals(EntityTagHeaderValue.Any) ? "*" : t.Tag.ToString().Trim('"'))
            .ToList();
    }

    /// <summary>True when an <c>If-None-Match</c> header names <paramref name="version"/> (weak comparison) or is <c>*</c>.</summary>
    public static bool NoneMatchHits(string? header, string version)
    {
        if (string.IsNullOrWhiteSpace(header)) { return false; }
        if (!EntityTagHeaderValue.TryParseList([header], out var tags)) { return false; }
        return tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Tag.ToString().Trim('"') == version);
    }
}
