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
/// (<c>null</c> for a delete).
/// </summary>
public sealed record CommitResult(DateTimeOffset CommitTime, IReadOnlyList<DateTimeOffset?> UpdateTimes);
