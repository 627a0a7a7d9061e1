namespace StoryDream.GoogleCloud.Firestore;

/// <summary>A stored document: its path relative to the database, its fields read as <typeparamref name="T"/>, and its times.</summary>
/// <remarks><see cref="UpdateTime"/> is the document's version: pass it to <see cref="Precondition.UpdatedAt"/> for optimistic concurrency.</remarks>
public sealed record FirestoreDocument<T>(string Path, T Data, DateTimeOffset CreateTime, DateTimeOffset UpdateTime)
{
    public string Id => Path[(Path.LastIndexOf('/') + 1)..];
}

/// <summary>One page of a listing; <see cref="NextPageToken"/> is <c>null</c> on the last page.</summary>
public sealed record FirestorePage<T>(IReadOnlyList<FirestoreDocument<T>> Documents, string? NextPageToken);

/// <summary>
/// What a commit wrote: the commit time and, per write in order, the document's new update time
/// (<c>null</c> for a delete) and what its field transforms set, in the order they were given: the stored time for a
/// <see cref="FieldTransform.ServerTimestamp"/>, <c>null</c> for the other kinds.
/// </summary>
/// <remarks>
/// A server timestamp is not the commit time: the emulator stores the time the request arrived, in milliseconds, while
/// the commit time has microseconds. <see cref="TransformTimes"/> is the value stored in the field.
/// </remarks>
public sealed record CommitResult(DateTimeOffset CommitTime, IReadOnlyList<DateTimeOffset?> UpdateTimes, IReadOnlyList<IReadOnlyList<DateTimeOffset?>> TransformTimes);
