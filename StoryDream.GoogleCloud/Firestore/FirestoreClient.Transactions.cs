namespace StoryDream.GoogleCloud.Firestore;

public sealed partial class FirestoreClient
{
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs <paramref name="body"/> in a read-write transaction and commits what it buffered. When Firestore aborts
    /// the transaction for contention, it is rolled back and the body runs again in a new one (which keeps the old
    /// one's place in line), after an exponential backoff with jitter, up to <paramref name="maxAttempts"/> times in
    /// all. The body may therefore run more than once: keep side effects out of it. Any other failure rolls back
    /// and is rethrown.
    /// </summary>
    public async Task<T> RunTransactionAsync<T>(Func<FirestoreTransaction, Task<T>> body, int maxAttempts = 5, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxAttempts);
        string? previous = null;
        for (var attempt = 1; ; attempt++)
        {
            var transaction = await BeginTransactionCoreAsync(readOnly: false, previous, cancellationToken);
            try
            {
                var result = await body(transaction);
                if (transaction.IsOpen)
                {
                    await transaction.CommitAsync(cancellationToken);
                }
                return result;
            }
            catch (FirestoreException e) when (e.Status == FirestoreStatus.Aborted && attempt < maxAttempts)
            {
                await TryRollbackAsync(transaction);
                previous = transaction.Id;
            }
            catch
            {
                await TryRollbackAsync(transaction);
                throw;
            }
            await Task.Delay(Backoff(attempt), cancellationToken);
        }
    }

    /// <inheritdoc cref="RunTransactionAsync{T}(Func{FirestoreTransaction, Task{T}}, int, CancellationToken)"/>
    public Task RunTransactionAsync(Func<FirestoreTransaction, Task> body, int maxAttempts = 5, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        return RunTransactionAsync<bool>(async transaction =>
        {
            await body(transaction);
            return true;
        }, maxAttempts, cancellationToken);
    }

    /// <summary>Half the exponential step plus a random share of the other half, so contenders spread out.</summary>
    internal static TimeSpan Backoff(int attempt)
    {
        var step = Math.Min(MaxBackoff.TotalMilliseconds, InitialBackoff.TotalMilliseconds * Math.Pow(2, attempt - 1));
        return TimeSpan.FromMilliseconds((step / 2) + (Random.Shared.NextDouble() * step / 2));
    }

    private static async Task TryRollbackAsync(FirestoreTransaction transaction)
    {
        if (!transaction.IsOpen)
        {
            return;
        }
        try
        {
            // The emulator keeps an aborted transaction's locks until it is rolled back; Firestore forgets it anyway.
            await transaction.RollbackAsync(CancellationToken.None);
        }
        catch (FirestoreException)
        {
            // Best effort: the transaction's own failure is what the caller needs to see.
        }
        catch (HttpRequestException)
        {
        }
    }
}
