using System.Buffers;
using System.Text;

namespace StoryDream.GoogleCloud.Firestore;

/// <summary>
/// Checks document and collection paths relative to the database (<c>projects/abc/messages/m1</c>) against
/// Firestore's id rules before they reach a URL, so that <c>..</c>, empty ids or a stray <c>/</c> never address
/// another document than the caller meant.
/// </summary>
internal static class ResourcePath
{
    private const int MaxIdBytes = 1500;

    /// <summary>RFC 3986 unreserved characters and the separator: a path made only of these needs no escaping.</summary>
    private static readonly SearchValues<char> UrlSafe = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/");

    public static string Document(string path, string parameterName = "path") => Check(path, parameterName, expectDocument: true);

    public static string Collection(string path, string parameterName = "collectionPath") => Check(path, parameterName, expectDocument: false);

    /// <summary>Percent-encodes each segment for a URL path, keeping the separators.</summary>
    public static string Escape(string path)
    {
        if (!path.AsSpan().ContainsAnyExcept(UrlSafe))
        {
            return path;
        }
        var builder = new StringBuilder(path.Length + 16);
        foreach (var segment in path.Split('/'))
        {
            if (builder.Length > 0)
            {
                builder.Append('/');
            }
            builder.Append(Uri.EscapeDataString(segment));
        }
        return builder.ToString();
    }

    /// <summary>Splits a collection path into its parent document (or <c>null</c> at the root) and the collection id.</summary>
    public static (string? Parent, string CollectionId) SplitCollection(string collectionPath)
    {
        var slash = collectionPath.LastIndexOf('/');
        return slash < 0 ? (null, collectionPath) : (collectionPath[..slash], collectionPath[(slash + 1)..]);
    }

    private static string Check(string path, string parameterName, bool expectDocument)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, parameterName);
        var count = 0;
        foreach (var range in path.AsSpan().Split('/'))
        {
            CheckId(path.AsSpan(range), path, parameterName);
            count++;
        }
        var isDocument = count % 2 == 0;
        if (isDocument != expectDocument)
        {
            throw new ArgumentException(
                expectDocument
                    ? $"'{path}' is not a document path: it needs an even number of segments (collection/id[/collection/id...])."
                    : $"'{path}' is not a collection path: it needs an odd number of segments (collection[/id/collection...]).",
                parameterName);
        }
        return path;
    }

    private static void CheckId(ReadOnlySpan<char> id, string path, string parameterName)
    {
        if (id.IsEmpty)
        {
            throw new ArgumentException($"'{path}' has an empty segment; ids cannot be empty and paths neither start nor end with '/'.", parameterName);
        }
        if (id is "." or "..")
        {
            throw new ArgumentException($"'{path}' has a '{id}' segment, which Firestore does not allow as an id.", parameterName);
        }
        if (id.Length > 4 && id.StartsWith("__") && id.EndsWith("__"))
        {
            throw new ArgumentException($"'{path}' has the id '{id}'; ids of the form __name__ are reserved by Firestore.", parameterName);
        }
        if (Encoding.UTF8.GetByteCount(id) > MaxIdBytes)
        {
            throw new ArgumentException($"'{path}' has an id longer than {MaxIdBytes} bytes.", parameterName);
        }
    }
}
