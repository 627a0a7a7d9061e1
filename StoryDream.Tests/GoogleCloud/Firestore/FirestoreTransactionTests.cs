using StoryDream.GoogleCloud.Firestore;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Firestore;

public sealed class FirestoreTransactionTests(TestServers servers) : IAsyncLifetime
{
    private FirestoreEmulatorProject _project = null!;

    private FirestoreClient Client => _project.Client;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _project = await FirestoreEmulatorProject.CreateAsync(servers);

    public ValueTask DisposeAsync() => _project.DisposeAsync();

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task BeginTransactionAsync_ReadsThenCommit_AppliesWrites()
    {
        await Client.CreateAsync("accounts/a", new Account(100), Token);
        await Client.CreateAsync("accounts/b", new Account(0), Token);

        var transaction = await Client.BeginTransactionAsync(cancellationToken: Token);
        var accounts = await transaction.BatchGetAsync<Account>(["accounts/a", "accounts/b"], Token);
        var missing = await transaction.GetAsync<Account>("accounts/c", Token);
        transaction
            .Set("accounts/a", new Account(accounts[0]!.Data.Balance - 30))
            .Set("accounts/b", new Account(accounts[1]!.Data.Balance + 30))
            .Create("accounts/c", new Account(missing is null ? 1 : -1));
        var result = await transaction.CommitAsync(Token);

        Assert.Equal(3, result.UpdateTimes.Count);
        Assert.Equal(70, (await Client.GetAsync<Account>("accounts/a", Token))!.Data.Balance);
        Assert.Equal(30, (await Client.GetAsync<Account>("accounts/b", Token))!.Data.Balance);
        Assert.Equal(1, (await Client.GetAsync<Account>("accounts/c", Token))!.Data.Balance);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task BeginTransactionAsync_QueryInside_SeesCommittedDocuments()
    {
        await Client.CreateAsync("accounts/a", new Account(5), Token);
        await Client.CreateAsync("accounts/b", new Account(50), Token);

        var transaction = await Client.BeginTransactionAsync(cancellationToken: Token);
        var rich = await transaction.RunQueryAsync<Account>(StructuredQuery.Collection("accounts").Where("balance", QueryOperator.GreaterThan, 10), Token);
        transaction.Patch("accounts/b", new Dictionary<string, object?> { ["balance"] = rich.Single().Data.Balance * 2 });
        await transaction.CommitAsync(Token);

        Assert.Equal(100, (await Client.GetAsync<Account>("accounts/b", Token))!.Data.Balance);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RollbackAsync_AfterBufferedWrites_LeavesNothingAndReleasesTheDocument()
    {
        await Client.CreateAsync("accounts/a", new Account(10), Token);
        var transaction = await Client.BeginTransactionAsync(cancellationToken: Token);
        var account = await transaction.GetAsync<Account>("accounts/a", Token);
        transaction.Set("accounts/a", new Account(account!.Data.Balance + 1)).Create("accounts/new", new Account(1));

        await transaction.RollbackAsync(Token);

        Assert.Null(await Client.GetAsync<Account>("accounts/new", Token));
        Assert.Equal(10, (await Client.GetAsync<Account>("accounts/a", Token))!.Data.Balance);
        // A transaction still holding its read would make this plain write wait and abort on the emulator.
        await Client.SetAsync("accounts/a", new Account(11), cancellationToken: Token);
        await Assert.ThrowsAsync<InvalidOperationException>(() => transaction.CommitAsync(Token));
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task CommitAsync_ConcurrentTransactionsOnOneDocument_AtLeastOneAborted()
    {
        await Client.CreateAsync("counters/c", new Counter(0), Token);
        var first = await Client.BeginTransactionAsync(cancellationToken: Token);
        var second = await Client.BeginTransactionAsync(cancellationToken: Token);
        var firstRead = await first.GetAsync<Counter>("counters/c", Token);
        var secondRead = await second.GetAsync<Counter>("counters/c", Token);
        first.Set("counters/c", new Counter(firstRead!.Data.Count + 1));
        second.Set("counters/c", new Counter(secondRead!.Data.Count + 1));

        var outcomes = await Task.WhenAll(CommitOutcomeAsync(first), CommitOutcomeAsync(second));

        Assert.Contains(FirestoreStatus.Aborted, outcomes);
        foreach (var transaction in new[] { first, second })
        {
            try
            {
                await transaction.RollbackAsync(Token);
            }
            catch (InvalidOperationException)
            {
                // Committed: nothing to release.
            }
        }
        var count = (await Client.GetAsync<Counter>("counters/c", Token))!.Data.Count;
        Assert.Equal(outcomes.Count(o => o is null), count);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunTransactionAsync_ConcurrentIncrements_RetriesAbortedAndCountsBoth()
    {
        await Client.CreateAsync("counters/c", new Counter(0), Token);
        using var bothRead = new Barrier(2);
        var attempts = 0;

        async Task<long> IncrementAsync()
        {
            var firstAttempt = true;
            return await Client.RunTransactionAsync(async transaction =>
            {
                Interlocked.Increment(ref attempts);
                var counter = await transaction.GetAsync<Counter>("counters/c", Token);
                if (firstAttempt)
                {
                    // Both first attempts hold their read before either commits, so they must collide.
                    firstAttempt = false;
                    await Task.Run(() => bothRead.SignalAndWait(TimeSpan.FromSeconds(20)), Token);
                }
                var next = counter!.Data.Count + 1;
                transaction.Set("counters/c", new Counter(next));
                return next;
            }, maxAttempts: 10, Token);
        }

        var results = await Task.WhenAll(Task.Run(IncrementAsync, Token), Task.Run(IncrementAsync, Token));

        Assert.Equal(2, (await Client.GetAsync<Counter>("counters/c", Token))!.Data.Count);
        Assert.Equal([1L, 2L], results.Order());
        Assert.True(attempts > 2, $"expected a retry, saw {attempts} attempts");
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunTransactionAsync_AbortedEveryTime_GivesUpAfterMaxAttempts()
    {
        await Client.CreateAsync("counters/c", new Counter(0), Token);
        // An open transaction holding a read of the document makes every write to it abort on the emulator.
        var holder = await Client.BeginTransactionAsync(cancellationToken: Token);
        await holder.GetAsync<Counter>("counters/c", Token);
        var attempts = 0;

        var error = await Assert.ThrowsAsync<FirestoreException>(() => Client.RunTransactionAsync(async transaction =>
        {
            attempts++;
            var counter = await transaction.GetAsync<Counter>("counters/c", Token);
            transaction.Set("counters/c", new Counter(counter!.Data.Count + 1));
        }, maxAttempts: 2, Token));

        await holder.RollbackAsync(Token);
        Assert.Equal(FirestoreStatus.Aborted, error.Status);
        Assert.Equal(2, attempts);
        Assert.Equal(0, (await Client.GetAsync<Counter>("counters/c", Token))!.Data.Count);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunTransactionAsync_BodyThrows_RollsBackAndRethrows()
    {
        await Client.CreateAsync("counters/c", new Counter(5), Token);

        await Assert.ThrowsAsync<InvalidOperationException>(() => Client.RunTransactionAsync(async transaction =>
        {
            var counter = await transaction.GetAsync<Counter>("counters/c", Token);
            transaction.Set("counters/c", new Counter(counter!.Data.Count * 100));
            throw new InvalidOperationException("changed my mind");
        }, cancellationToken: Token));

        Assert.Equal(5, (await Client.GetAsync<Counter>("counters/c", Token))!.Data.Count);
        // Rolled back, so the read no longer blocks a plain write.
        await Client.SetAsync("counters/c", new Counter(6), cancellationToken: Token);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task RunTransactionAsync_FailedPreconditionInside_IsNotRetried()
    {
        await Client.CreateAsync("counters/c", new Counter(1), Token);
        var attempts = 0;

        var error = await Assert.ThrowsAsync<FirestoreException>(() => Client.RunTransactionAsync(async transaction =>
        {
            attempts++;
            await transaction.GetAsync<Counter>("counters/c", Token);
            transaction.Create("counters/c", new Counter(2));
        }, cancellationToken: Token));

        Assert.Equal(FirestoreStatus.AlreadyExists, error.Status);
        Assert.Equal(1, attempts);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task BeginTransactionAsync_ReadOnly_ReadsButRefusesWrites()
    {
        await Client.CreateAsync("counters/c", new Counter(3), Token);
        var transaction = await Client.BeginTransactionAsync(readOnly: true, Token);

        var counter = await transaction.GetAsync<Counter>("counters/c", Token);

        Assert.Equal(3, counter!.Data.Count);
        Assert.True(transaction.IsReadOnly);
        Assert.Throws<InvalidOperationException>(() => transaction.Set("counters/c", new Counter(4)));
        await transaction.CommitAsync(Token);
    }

    [Fact(Timeout = FirestoreEmulatorProject.TestTimeout)]
    public async Task Transaction_ReadAfterWrite_ThrowsInvalidOperation()
    {
        var transaction = await Client.BeginTransactionAsync(cancellationToken: Token);
        transaction.Set("counters/c", new Counter(1));

        await Assert.ThrowsAsync<InvalidOperationException>(() => transaction.GetAsync<Counter>("counters/c", Token));
        await transaction.RollbackAsync(Token);
    }

    [Fact]
    public void Backoff_LaterAttempts_WaitLongerWithinJitterBounds()
    {
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            var step = Math.Min(5000, 100 * Math.Pow(2, attempt - 1));
            var delay = FirestoreClient.Backoff(attempt).TotalMilliseconds;
            Assert.InRange(delay, step / 2, step);
        }
    }

    private static async Task<FirestoreStatus?> CommitOutcomeAsync(FirestoreTransaction transaction)
    {
        try
        {
            await transaction.CommitAsync(Token);
            return null;
        }
        catch (FirestoreException e)
        {
            return e.Status;
        }
    }

    internal sealed record Account(long Balance);

    internal sealed record Counter(long Count);
}
