namespace StoryDream.GoogleCloud.Firestore;

/// <summary>
/// A Firestore transaction: its reads see one consistent state, and its writes, buffered here, apply at
/// <see cref="CommitAsync"/> only if nothing it read changed meanwhile (otherwise Firestore aborts it). As in
/// Firestore's own SDKs, every read comes before the first write. Not thread-safe.
/// </summary>
public sealed class FirestoreTransaction
{
    private readonly FirestoreClient _client;
    private readonly List<Write> _writes = [];
    private State _state = State.Active;

    internal FirestoreTransaction(FirestoreClient client, string id, bool readOnly)
    {
        _client = client;
        Id = id;
        IsReadOnly = readOnly;
    }

    private enum State
    {
        Active,
        Failed,
        Committed,
        RolledBack,
    }

    /// <summary>Firestore's opaque transaction id.</summary>
    public string Id { get; }

    public bool IsReadOnly { get; }

    /// <summary>Whether the transaction still needs a commit or a rollback.</summary>
    internal bool IsOpen => _state is State.Active or State.Failed;

    public async Task<FirestoreDocument<T>?> GetAsync<T>(string path, CancellationToken cancellationToken = default)
    {
        // A single-document GET cannot carry the transaction: the emulator fails on a bytes query parameter.
        var documents = await BatchGetAsync<T>([path], cancellationToken);
        return documents[0];
    }

    public Task<IReadOnlyList<FirestoreDocument<T>?>> BatchGetAsync<T>(IEnumerable<string> paths, CancellationToken cancellationToken = default)
    {
        EnsureCanRead();
        return Track(_client.BatchGetCoreAsync<T>(paths, Id, cancellationToken));
    }

    public Task<IReadOnlyList<FirestoreDocument<T>>> RunQueryAsync<T>(StructuredQuery query, CancellationToken cancellationToken = default)
    {
        EnsureCanRead();
        return Track(_client.RunQueryCoreAsync<T>(query, Id, cancellationToken));
    }

    /// <summary>Buffers a write for the commit.</summary>
    public FirestoreTransaction Add(Write write)
    {
        ArgumentNullException.ThrowIfNull(write);
        EnsureActive();
        if (IsReadOnly)
        {
            throw new InvalidOperationException("A read-only transaction cannot write.");
        }
        _writes.Add(write);
        return this;
    }

    public FirestoreTransaction Create<T>(string path, T data) where T : notnull => Add(Write.Create(path, data));

    public FirestoreTransaction Set<T>(string path, T data) where T : notnull => Add(Write.Set(path, data));

    /// <summary>Buffers a patch of the given field paths; unlike <see cref="FirestoreClient.PatchAsync"/> it requires the document to exist, as a transaction's updates do in Firestore's SDKs.</summary>
    public FirestoreTransaction Patch(string path, IReadOnlyDictionary<string, object?> fields) => Add(Write.Patch(path, fields).WithPrecondition(Precondition.MustExist));

    public FirestoreTransaction Delete(string path) => Add(Write.Delete(path));

    /// <summary>Applies the buffered writes atomically; fails with <see cref="FirestoreStatus.Aborted"/> when a read changed meanwhile.</summary>
    public async Task<CommitResult> CommitAsync(CancellationToken cancellationToken = default)
    {
        EnsureActive();
        try
        {
            var result = await _client.CommitCoreAsync(_writes, Id, cancellationToken);
            _state = State.Committed;
            return result;
        }
        catch
        {
            _state = State.Failed;
            throw;
        }
    }

    /// <summary>Ends the transaction without writing and releases what it holds.</summary>
    public async Task RollbackAsync(CancellationToken cancellationToken = default)
    {
        if (!IsOpen)
        {
            throw new InvalidOperationException($"The transaction is already {(_state == State.Committed ? "committed" : "rolled back")}.");
        }
        await _client.RollbackCoreAsync(Id, cancellationToken);
        _state = State.RolledBack;
    }

    private async Task<TResult> Track<TResult>(Task<TResult> read)
    {
        try
        {
            return await read;
        }
        catch (FirestoreException)
        {
            _state = State.Failed;
            throw;
        }
    }

    private void EnsureActive()
    {
        if (_state != State.Active)
        {
            throw new InvalidOperationException($"The transaction is {_state.ToString().ToLowerInvariant()}; begin a new one.");
        }
    }

    private void EnsureCanRead()
    {
        EnsureActive();
        if (_writes.Count > 0)
        {
            throw new InvalidOperationException("A transaction reads before it writes: this one already has writes buffered.");
        }
    }
}
