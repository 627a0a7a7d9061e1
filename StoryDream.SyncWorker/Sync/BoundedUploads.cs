namespace StoryDream.SyncWorker.Sync;

/// <summary>
/// Transfers started by one producer (the tar reader) and run concurrently: at most <c>parallelism</c> at once and,
/// unless only one runs, at most <c>budgetBytes</c> of content held. The first failure cancels the rest.
/// </summary>
internal sealed class BoundedUploads(int parallelism, long budgetBytes, CancellationTokenSource failed)
{
    private readonly List<(Task Task, long Bytes)> _running = [];
    private readonly List<Task> _faulted = [];
    private long _heldBytes;

    public async Task StartAsync(long bytes, Func<CancellationToken, Task> transfer)
    {
        ArgumentNullException.ThrowIfNull(transfer);
        while (_running.Count > 0 && (_running.Count >= parallelism || _heldBytes + bytes > budgetBytes))
        {
            await Task.WhenAny(_running.Select(r => r.Task));
            Reap();
            failed.Token.ThrowIfCancellationRequested();
        }
        var token = failed.Token;
        var task = Task.Run(async () =>
        {
            try
            {
                await transfer(token);
            }
            catch
            {
                await failed.CancelAsync();
                throw;
            }
        }, CancellationToken.None);
        _running.Add((task, bytes));
        _heldBytes += bytes;
    }

    /// <summary>Waits for every transfer; the first real failure (not a cancellation it caused), or null.</summary>
    public async Task<Exception?> WaitAllAsync()
    {
        var all = _running.Select(r => r.Task).Concat(_faulted).ToList();
        try
        {
            await Task.WhenAll(all);
        }
        catch
        {
            // Inspected below, task by task.
        }
        var faults = all.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).ToList();
        return faults.FirstOrDefault(e => e is not OperationCanceledException) ?? faults.FirstOrDefault();
    }

    private void Reap()
    {
        for (var i = _running.Count - 1; i >= 0; i--)
        {
            if (!_running[i].Task.IsCompleted) { continue; }
            _heldBytes -= _running[i].Bytes;
            if (_running[i].Task.IsFaulted) { _faulted.Add(_running[i].Task); }
            _running.RemoveAt(i);
        }
    }
}
