namespace StoryDream.GoogleCloud.Firestore;

/// <summary>
/// One write of a commit: set, create, patch or delete a document, optionally with a precondition and field
/// transforms. Immutable; the <c>With...</c> methods return a new write.
/// </summary>
public sealed class Write
{
    private Write(WriteOperation operation, string path, object? data, IReadOnlyList<string>? mask, Precondition? precondition, IReadOnlyList<FieldTransform> transforms)
    {
        Operation = operation;
        Path = path;
        Data = data;
        Mask = mask;
        Precondition = precondition;
        Transforms = transforms;
    }

    internal WriteOperation Operation { get; }

    internal string Path { get; }

    /// <summary>The fields to write: the caller's object for a set, a <see cref="FieldTree"/> for a patch.</summary>
    internal object? Data { get; }

    /// <summary>The update mask of a patch, canonical field paths; <c>null</c> for a set (replace everything).</summary>
    internal IReadOnlyList<string>? Mask { get; }

    internal Precondition? Precondition { get; }

    internal IReadOnlyList<FieldTransform> Transforms { get; }

    /// <summary>Replaces the whole document with <paramref name="data"/>, creating it if needed.</summary>
    public static Write Set<T>(string path, T data) where T : notnull
    {
        ArgumentNullException.ThrowIfNull(data);
        return new(WriteOperation.Update, ResourcePath.Document(path), data, null, null, []);
    }

    /// <summary>Creates the document; the commit fails with <see cref="FirestoreStatus.AlreadyExists"/> if it exists.</summary>
    public static Write Create<T>(string path, T data) where T : notnull => Set(path, data).WithPrecondition(Precondition.MustNotExist);

    /// <summary>
    /// Writes only the given fields; each key is a field path (<c>videoSettings.width</c>, backticks around a segment
    /// that is not an identifier) and the update mask is exactly these keys, so other fields stay as they are. A
    /// missing document is created unless a precondition says otherwise (<see cref="Precondition.MustExist"/>).
    /// </summary>
    public static Write Patch(string path, IReadOnlyDictionary<string, object?> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var tree = new FieldTree();
        var mask = new List<string>(fields.Count);
        foreach (var (fieldPath, value) in fields)
        {
            var segments = FieldPath.Parse(fieldPath, nameof(fields));
            tree.Add(segments, value, fieldPath);
            mask.Add(FieldPath.Format(segments));
        }
        return new(WriteOperation.Update, ResourcePath.Document(path), tree, mask, null, []);
    }

    public static Write Delete(string path) => new(WriteOperation.Delete, ResourcePath.Document(path), null, null, null, []);

    public Write WithPrecondition(Precondition precondition)
    {
        ArgumentNullException.ThrowIfNull(precondition);
        if (Precondition is not null && Precondition != precondition)
        {
            throw new InvalidOperationException("This write already has a precondition; a write takes one.");
        }
        return new(Operation, Path, Data, Mask, precondition, Transforms);
    }

    /// <summary>Applies these transforms on the server after the write's fields, in the same atomic write.</summary>
    public Write WithTransforms(params FieldTransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        if (Operation == WriteOperation.Delete)
        {
            throw new InvalidOperationException("A delete cannot carry field transforms.");
        }
        foreach (var transform in transforms)
        {
            ArgumentNullException.ThrowIfNull(transform, nameof(transforms));
        }
        return new(Operation, Path, Data, Mask, Precondition, [.. Transforms, .. transforms]);
    }
}

internal enum WriteOperation
{
    Update,
    Delete,
}

/// <summary>A server-side change to one field, applied atomically with the write that carries it.</summary>
public sealed class FieldTransform
{
    private FieldTransform(string fieldPath, FieldTransformKind kind, object? operand)
    {
        FieldPath = fieldPath;
        Kind = kind;
        Operand = operand;
    }

    internal string FieldPath { get; }

    internal FieldTransformKind Kind { get; }

    internal object? Operand { get; }

    /// <summary>Sets the field to the time the server applies the write.</summary>
    public static FieldTransform ServerTimestamp(string fieldPath) => new(Normalize(fieldPath), FieldTransformKind.ServerTimestamp, null);

    /// <summary>Adds to the field's number (a missing or non-numeric field counts as 0).</summary>
    public static FieldTransform Increment(string fieldPath, long by) => new(Normalize(fieldPath), FieldTransformKind.Increment, by);

    /// <inheritdoc cref="Increment(string, long)"/>
    public static FieldTransform Increment(string fieldPath, double by) => new(Normalize(fieldPath), FieldTransformKind.Increment, by);

    /// <summary>Appends each element the array does not already hold.</summary>
    public static FieldTransform ArrayUnion(string fieldPath, params object?[] elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        return new(Normalize(fieldPath), FieldTransformKind.ArrayUnion, elements);
    }

    /// <summary>Removes every occurrence of each element from the array.</summary>
    public static FieldTransform ArrayRemove(string fieldPath, params object?[] elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        return new(Normalize(fieldPath), FieldTransformKind.ArrayRemove, elements);
    }

    private static string Normalize(string fieldPath) => Firestore.FieldPath.Normalize(fieldPath, nameof(fieldPath));
}

internal enum FieldTransformKind
{
    ServerTimestamp,
    Increment,
    ArrayUnion,
    ArrayRemove,
}

/// <summary>The nested maps a patch's dotted field paths describe; the value mapper writes it as a map.</summary>
internal sealed class FieldTree : Dictionary<string, object?>
{
    public FieldTree() : base(StringComparer.Ordinal)
    {
    }

    public void Add(IReadOnlyList<string> segments, object? value, string fieldPath)
    {
        var node = this;
        for (var i = 0; i < segments.Count - 1; i++)
        {
            if (!node.TryGetValue(segments[i], out var child))
            {
                child = new FieldTree();
                node[segments[i]] = child;
            }
            node = child as FieldTree
                ?? throw new ArgumentException($"Field path '{fieldPath}' lies inside another field path of the same patch.", nameof(fieldPath));
        }
        if (!node.TryAdd(segments[^1], value))
        {
            throw new ArgumentException($"Field path '{fieldPath}' overlaps another field path of the same patch.", nameof(fieldPath));
        }
    }
}
