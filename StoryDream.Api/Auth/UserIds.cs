namespace StoryDream.Api.Auth;

/// <summary>
/// A user id is the token's <c>sub</c> and names the <c>users/{userId}</c> document, so it must be a valid, harmless
/// Firestore document id. Firebase uids (28 characters) and typical OIDC subjects fit.
/// </summary>
internal static class UserIds
{
    public const int MaxLength = 128;

    public static string? Problem(string? userId)
    {
        if (string.IsNullOrEmpty(userId)) { return "The user id is empty."; }
        if (userId.Length > MaxLength) { return $"The user id is longer than {MaxLength} characters."; }
        if (userId is "." or ".." || (userId.StartsWith("__", StringComparison.Ordinal) && userId.EndsWith("__", StringComparison.Ordinal)))
        {
            return "The user id is reserved.";
        }
        foreach (var c in userId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '@' or ':' or '|' or '+'))
            {
                return "The user id may hold only ASCII letters, digits and - _ . @ : | +.";
            }
        }
        return null;
    }
}
