using System.Text;

namespace StoryDream.GoogleCloud.Firestore;

/// <summary>
/// Field paths as Firestore writes them: segments joined by dots, a segment that is not a plain identifier
/// quoted in backticks (<c>files.`src/a.tsx`.size</c>), with <c>\</c> escaping a backtick or backslash inside.
/// </summary>
internal static class FieldPath
{
    /// <summary>The pseudo-field naming the document itself, for ordering and cursors.</summary>
    public const string DocumentId = "__name__";

    public static IReadOnlyList<string> Parse(string path, string parameterName = "fieldPath")
    {
        ArgumentException.ThrowIfNullOrEmpty(path, parameterName);
        var segments = new List<string>();
        var current = new StringBuilder();
        var i = 0;
        while (i < path.Length)
        {
            if (path[i] == '`')
            {
                i++;
                while (true)
                {
                    if (i >= path.Length)
                    {
                        throw new ArgumentException($"Field path '{path}' has an unclosed backtick.", parameterName);
                    }
                    var c = path[i++];
                    if (c == '`')
                    {
                        break;
                    }
                    if (c == '\\')
                    {
                        if (i >= path.Length)
                        {
                            throw new ArgumentException($"Field path '{path}' ends inside an escape.", parameterName);
                        }
                        c = path[i++];
                    }
                    current.Append(c);
                }
                if (i < path.Length && path[i] != '.')
                {
                    throw new ArgumentException($"Field path '{path}' has text right after a quoted segment.", parameterName);
                }
            }
            else
            {
                while (i < path.Length && path[i] != '.')
                {
                    var c = path[i++];
                    if (c is '`' or '\\' or '*' or '~' or '/' or '[' or ']')
                    {
                        throw new ArgumentException($"Field path '{path}' has '{c}' in an unquoted segment; quote that segment in backticks.", parameterName);
                    }
                    current.Append(c);
                }
            }
            if (current.Length == 0)
            {
                throw new ArgumentException($"Field path '{path}' has an empty segment.", parameterName);
            }
            segments.Add(current.ToString());
            current.Clear();
            if (i < path.Length)
            {
                i++;
                if (i == path.Length)
                {
                    throw new ArgumentException($"Field path '{path}' ends with '.'.", parameterName);
                }
            }
        }
        return segments;
    }

    /// <summary>The canonical spelling of a path, quoting only the segments that need it.</summary>
    public static string Normalize(string path, string parameterName = "fieldPath") => Format(Parse(path, parameterName));

    public static string Format(IEnumerable<string> segments)
    {
        var builder = new StringBuilder();
        foreach (var segment in segments)
        {
            if (builder.Length > 0)
            {
                builder.Append('.');
            }
            if (IsSimple(segment))
            {
                builder.Append(segment);
                continue;
            }
            builder.Append('`');
            foreach (var c in segment)
            {
                if (c is '`' or '\\')
                {
                    builder.Append('\\');
                }
                builder.Append(c);
            }
            builder.Append('`');
        }
        return builder.ToString();
    }

    private static bool IsSimple(string segment)
    {
        if (segment.Length == 0 || char.IsAsciiDigit(segment[0]))
        {
            return false;
        }
        foreach (var c in segment)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }
        return true;
    }
}
