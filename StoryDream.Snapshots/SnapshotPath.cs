using System.Text;

namespace StoryDream.Snapshots;

/// <summary>
/// The paths a snapshot may hold: relative, forward-slashed, inside one of the synced workspace roots
/// (<c>src/</c> and <c>.claude/</c>, DESIGN section 5, and <c>public/</c> for uploaded assets, issue 17), with no empty, <c>.</c> or <c>..</c> segment. Everything that
/// reads or writes a tree goes through this check, so a hostile path never reaches a file system or a URL.
/// The session pod applies the same rules (session-pod/src/paths.ts) so it never offers a name the worker refuses;
/// both test suites run the cases of session-pod/test/support/path-cases.json.
/// </summary>
public static class SnapshotPath
{
    public const int MaxLength = 1024;
    public const int MaxSegmentLength = 255;

    public static IReadOnlyList<string> WorkspaceRoots { get; } = ["src", ".claude", "public"];

    public static bool IsValid(string? path) => Problem(path) is null;

    /// <summary>Why <paramref name="path"/> is refused, or <c>null</c> when it is a valid snapshot path.</summary>
    public static string? Problem(string? path)
    {
        if (string.IsNullOrEmpty(path)) { return "The path is empty."; }
        if (Encoding.UTF8.GetByteCount(path) > MaxLength) { return $"The path is longer than {MaxLength} bytes."; }
        foreach (var c in path)
        {
            // C0, DEL and C1: legal in Linux names, but they break logs, tar headers and the object store's listing.
            if (char.IsControl(c) || c == '\\') { return "The path contains a control character or a backslash."; }
        }
        for (var i = 0; i < path.Length; i++)
        {
            if (char.IsHighSurrogate(path[i]) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1])) { i++; }
            else if (char.IsSurrogate(path[i])) { return "The path is not valid Unicode (a lone surrogate)."; }
        }
        // One file, one name: an NFD name and its NFC twin would be two files here and one on macOS.
        if (!path.IsNormalized(NormalizationForm.FormC)) { return "The path is not in Unicode normalization form C."; }

        var segments = path.Split('/');
        if (segments.Length < 2 || !WorkspaceRoots.Contains(segments[0], StringComparer.Ordinal))
        {
            return $"The path must name a file inside {string.Join(" or ", WorkspaceRoots.Select(r => r + "/"))}.";
        }
        foreach (var segment in segments)
        {
            if (segment.Length == 0 || segment is "." or "..") { return "The path has an empty, '.' or '..' segment."; }
            if (Encoding.UTF8.GetByteCount(segment) > MaxSegmentLength) { return $"A segment of the path is longer than {MaxSegmentLength} bytes."; }
        }
        return null;
    }

    /// <summary>Orders paths by their UTF-8 bytes, which is what any other language's plain byte sort gives.</summary>
    public static IComparer<string> Order { get; } = Comparer<string>.Create(CompareUtf8);

    private static int CompareUtf8(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) { return 0; }
        if (x is null) { return -1; }
        if (y is null) { return 1; }
        // Code point order equals UTF-8 byte order; UTF-16 ordinal order differs once surrogates are involved. Where
        // the first difference has none, it is the order of the two chars (the common case, and the cheap one: a
        // sync sorts or checks the order of every path of the tree).
        var common = x.AsSpan().CommonPrefixLength(y);
        if (common == x.Length || common == y.Length) { return x.Length.CompareTo(y.Length); }
        if (!char.IsSurrogate(x[common]) && !char.IsSurrogate(y[common])) { return x[common].CompareTo(y[common]); }
        var xe = x.EnumerateRunes();
        var ye = y.EnumerateRunes();
        while (true)
        {
            var xm = xe.MoveNext();
            var ym = ye.MoveNext();
            if (!xm || !ym) { return xm.CompareTo(ym); }
            var c = xe.Current.Value.CompareTo(ye.Current.Value);
            if (c != 0) { return c; }
        }
    }
}
