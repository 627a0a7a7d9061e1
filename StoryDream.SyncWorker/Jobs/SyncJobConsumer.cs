using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.SyncWorker.Jobs;

/// <summary>
/// Consumes <c>sync:jobs</c> as a member of the <c>sync-workers</c> group. New entries arrive through a blocking read;
/// every <see cref="SyncWorkerOptions.ClaimInterval"/> entries idle longer than <see cref="SyncWorkerOptions.ClaimIdleTime"/>
/// (their worker died) are claimed. Each readable job joins its project's pending set and the project is run by
/// whichever worker gets its lock; entries that cannot be run are dead-lettered with a clear reason.
/// </summary>
internal sealed partial class SyncJobConsumer(
    SyncJobQueue queue,
    ProjectRunner runner,
    SyncWorkerState state,
    SyncMetrics metrics,
    IOptions<SyncWorkerOptions> options,
    TimeProvider time,
    ILogger<SyncJobConsumer> logger) : BackgroundService
{
    private static readonly TimeSpan ErrorBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MinimumLockRetry = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(20);

    private readonly SyncWorkerOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, Task> _runs = new(StringComparer.Ordinal);
    // Projects that got a job while their run was ending: a run that has already found nothing pending and released
    // the lock would otherwise leave that job to the idle claim (issue 15, item 9). Guarded by _runsGate with _runs' changes.
    private readonly HashSet<string> _wakeUps = new(StringComparer.Ordinal);
    private readonly Lock _runsGate = new();
    private readonly Dictionary<string, DateTimeOffset> _lockRetries = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _runsStopping = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var consumer = state.ConsumerName;
        LogStarted(consumer);
        var groupReady = false;
        var nextClaim = time.GetUtcNow();
        var readOwnPending = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!groupReady)
                {
                    await queue.EnsureGroupAsync();
                    groupReady = true;
                }
                var now = time.GetUtcNow();
                if (now >= nextClaim)
                {
                    var claimed = await queue.ClaimIdleAsync(consumer, _options.ClaimIdleTime, _options.ReadBatchSize);
                    await IntakeAsync(claimed, consumer);
                    await queue.ForgetDeadConsumersAsync(_options.ClaimIdleTime * 10);
                    nextClaim = now + _options.ClaimInterval;
                }
                if (readOwnPending)
                {
                    // A failed blocking read may have been answered after all: Redis then delivered entries to this
                    // consumer whose reply never arrived. They are in this consumer's pending list; read them from there
                    // rather than leave them for the idle claim.
                    await IntakeAsync([.. (await queue.ReadOwnPendingAsync(consumer, _options.ReadBatchSize)).Select(e => (e, 1L))], consumer);
                    readOwnPending = false;
                }
                await RetryLockedOutAsync(consumer, now);

                var block = Min(_options.ReadBlockTime, nextClaim - time.GetUtcNow(), NextLockRetry() - time.GetUtcNow());
                if (_runs.Count >= _options.MaxConcurrentProjects)
                {
                    // Busy: take no new work, just wait for a run to end (or the next claim round).
                    await Task.WhenAny(Task.WhenAny(_runs.Values), Task.Delay(block, time, stoppingToken));
                }
                else
                {
                    var entries = await queue.ReadNewAsync(consumer, _options.ReadBatchSize, block);
                    await IntakeAsync([.. entries.Select(e => (e, 1L))], consumer);
                }
                state.Heartbeat(time.GetUtcNow());
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogRedisTrouble(e);
                readOwnPending = true;
                try { await Task.Delay(ErrorBackoff, time, stoppingToken); }
                catch (OperationCanceledException) { break; }
            }
        }
        await DrainAsync();
    }

    private async Task IntakeAsync(IReadOnlyList<(DeliveredEntry Entry, long Deliveries)> entries, string consumer)
    {
        var projects = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (entry, deliveries) in entries)
        {
            var job = SyncJob.FromStreamFields(entry.Fields);
            if (job is null)
            {
                LogMalformed(entry.Id, Describe(entry.Fields));
                metrics.RecordFailure("unknown", "malformed");
                await queue.DeadLetterAsync(entry, null, "Malformed entry: jobId, kind (sync|hydrate), projectId, sessionId and reason are required.");
                continue;
            }
            if (Problem(job) is { } problem)
            {
                LogMalformed(entry.Id, problem);
                metrics.RecordFailure(job.Kind, "malformed");
                await queue.DeadLetterAsync(entry, job, problem);
                continue;
            }
            if (deliveries > _options.MaxDeliveries)
            {
                var error = $"Gave up after {deliveries - 1} deliveries that did not complete (workers died or hit transient errors).";
                LogGaveUp(entry.Id, job.JobId, job.ProjectId, deliveries - 1);
                metrics.RecordFailure(job.Kind, "dead-letter");
                await queue.DeadLetterAsync(entry, job, error);
                continue;
            }
            if (await queue.RegisterAsync(entry.Id, job))
            {
                projects.Add(job.ProjectId);
            }
        }
        foreach (var projectId in projects)
        {
            StartRun(projectId, consumer);
        }
    }

    /// <summary>Ids end up in Redis keys, object names and URLs: only the UUID form of DESIGN section 2 gets through.</summary>
    internal static string? Problem(SyncJob job)
    {
        if (!IsUuid(job.ProjectId)) { return "projectId must be a lower-case UUID."; }
        if (!IsUuid(job.SessionId)) { return "sessionId must be a lower-case UUID."; }
        if (job.JobId.Length > 200 || job.JobId.Any(char.IsControl)) { return "jobId must be at most 200 printable characters."; }
        if (job.Kind == SyncKinds.Sync && job.SnapshotId is not null) { return "A sync job takes no snapshotId."; }
        return null;
    }

    private static bool IsUuid(string value) =>
        value.Length == 36 && Guid.TryParseExact(value, "D", out _) && !value.Any(char.IsAsciiLetterUpper);

    private void StartRun(string projectId, string consumer)
    {
        lock (_lockRetries) { _lockRetries.Remove(projectId); }
        lock (_runsGate)
        {
            if (_runs.ContainsKey(projectId))
            {
                _wakeUps.Add(projectId);
                return;
            }
            // The run waits for this gate so it is in the table before it can finish and take itself out.
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _runs[projectId] = RunProjectAsync(projectId, consumer, gate.Task);
            gate.SetResult();
        }
    }

    private async Task RunProjectAsync(string projectId, string consumer, Task gate)
    {
        await gate;
        var again = true;
        while (again)
        {
            TimeSpan? busyFor = null;
            try
            {
                busyFor = await runner.RunAsync(projectId, consumer, _runsStopping.Token);
                if (busyFor is { } wait)
                {
                    lock (_lockRetries)
                    {
                        _lockRetries[projectId] = time.GetUtcNow() + (wait < MinimumLockRetry ? MinimumLockRetry : wait);
                    }
                }
            }
            catch (OperationCanceledException) when (_runsStopping.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                // The jobs stay pending; they are claimed again once idle.
                LogRunFailed(projectId, e);
            }
            lock (_runsGate)
            {
                // Leaving the table and checking for a job that arrived meanwhile are one step, so none is missed.
                again = _wakeUps.Remove(projectId) && busyFor is null && !_runsStopping.IsCancellationRequested;
                if (!again) { _runs.TryRemove(projectId, out _); }
            }
        }
    }

    /// <summary>Projects whose lock another worker held: once it has expired or been released, try again.</summary>
    private async Task RetryLockedOutAsync(string consumer, DateTimeOffset now)
    {
        List<string> due;
        lock (_lockRetries)
        {
            due = [.. _lockRetries.Where(r => r.Value <= now).Select(r => r.Key)];
            foreach (var projectId in due) { _lockRetries.Remove(projectId); }
        }
        foreach (var projectId in due)
        {
            if ((await queue.PendingAsync(projectId)).Count > 0)
            {
                StartRun(projectId, consumer);
            }
        }
    }

    private DateTimeOffset NextLockRetry()
    {
        lock (_lockRetries)
        {
            return _lockRetries.Count == 0 ? DateTimeOffset.MaxValue : _lockRetries.Values.Min();
        }
    }

    /// <summary>Lets runs in progress finish (a rolling restart should not strand a half-done sync), then cancels the rest.</summary>
    private async Task DrainAsync()
    {
        var runs = _runs.Values.ToList();
        if (runs.Count > 0)
        {
            await Task.WhenAny(Task.WhenAll(runs), Task.Delay(DrainTime, time));
        }
        await _runsStopping.CancelAsync();
        await Task.WhenAll(_runs.Values);
        _runsStopping.Dispose();
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b, TimeSpan c)
    {
        var min = a < b ? a : b;
        min = min < c ? min : c;
        return min < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : min;
    }

    private static string Describe(NameValueEntry[] fields) =>
        Pods.PodTarReader.Printable(string.Join(", ", fields.Take(10).Select(f => $"{f.Name}={f.Value}")));

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Sync worker {Consumer} consuming sync:jobs")]
    private partial void LogStarted(string consumer);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Entry {EntryId} of sync:jobs cannot be run and goes to the dead letters: {Problem}")]
    private partial void LogMalformed(string entryId, string problem);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "Entry {EntryId} (job {JobId}, project {ProjectId}) goes to the dead letters after {Attempts} unfinished deliveries")]
    private partial void LogGaveUp(string entryId, string jobId, string projectId, long attempts);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Redis trouble in the consumer loop; retrying")]
    private partial void LogRedisTrouble(Exception exception);

    [LoggerMessage(EventId = 14, Level = LogLevel.Error, Message = "Run of project {ProjectId} broke off; its jobs stay pending")]
    private partial void LogRunFailed(string projectId, Exception exception);
}
