namespace StoryDream.GoogleCloud.Firestore;

/// <summary>A condition the document must meet for a write to apply; otherwise the write fails and nothing changes.</summary>
public sealed class Precondition
{
    private Precondition(bool? exists, DateTimeOffset? updateTime)
    {
        Exists = exists;
        UpdateTime = updateTime;
    }

    /// <summary>The document must exist (the write fails with <see cref="FirestoreStatus.NotFound"/> otherwise).</summary>
    public static Precondition MustExist { get; } = new(true, null);

    /// <summary>The document must not exist.</summary>
    public static Precondition MustNotExist { get; } = new(false, null);

    internal bool? Exists { get; }

    internal DateTimeOffset? UpdateTime { get; }

    /// <summary>
    /// The document must still be at this version, its <see cref="FirestoreDocument{T}.UpdateTime"/> as last read
    /// (the write fails with <see cref="FirestoreStatus.FailedPrecondition"/> otherwise).
    /// </summary>
    public static Precondition UpdatedAt(DateTimeOffset updateTime) => new(null, updateTime);
}
