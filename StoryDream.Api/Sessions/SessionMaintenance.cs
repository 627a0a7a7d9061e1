using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>
/// Stops sessions idle for <see cref="SessionOptions.IdleTimeout"/> (final sync, then the pod goes) and runs a checkpoint
/// sync of every active session each <see cref="SessionOptions.CheckpointInterval"/>. One API replica does this at a
/// time, the holder of a Redis lease that it renews during each pass and that lapses if it dies. Stops run beside the
/// pass, <see cref="SessionOptions.MaxConcurrentStops"/> at a time: a dead pod is discarded without a sync, and a stop
/// that keeps failing is forced after <see cref="SessionOptions.MaxStopFailures"/> tries, so every session ends.
/// </summary>
internal sealed partial class SessionMaintenance(
    IConnectionMultiplexer redis,
    SessionManager sessions,
    SyncJobs syncJobs,
    IOptions<SessionOptions> options,
    TimeProvider time,
    ILogger<SessionMaintenance> logger) : BackgroundService
{
    public const string LeaseKey = "sessions:maintenance-lease";

    /// <summary>A field of the session hash beside the contract's: when the last checkpoint was enqueued.</summary>
    public const string LastCheckpointField = "lastCheckpoint";

    /// <summary>A field of the session hash beside the contract's: idle stops of it that failed in a row.</summary>
    public const string StopFailuresField = "stopFailures";

    // Counts only on a session that still exists: a stopped one must not come back as half a record.
    private const string CountFailureScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
        """;

    // Take the lease when free, or renew it when we already hold it.
    private const string LeaseScript = """
        local holder = redis.call('GET', KEYS[1])
        if holder == false or holder == ARGV[1] then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return 1
        end
        return 0
        """;

    private readonly string _replicaId = Guid.NewGuid().ToString("N");
    private readonly SessionOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, Task> _stops = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _stopSlots = new(options.Value.MaxConcurrentStops, options.Value.MaxConcurrentStops);
    private readonly CancellationTokenSource _shutdown = new();

    /// <summary>How often a pass runs: often enough that a checkpoint is never more than a few seconds late.</summary>
    public TimeSpan PassInterval => TimeSpan.FromTicks(Math.Min(_options.CheckpointInterval.Ticks, TimeSpan.FromSeconds(10).Ticks));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PassInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException)
            {
                LogPassFailed(logger, e);
            }
        }
    }

    /// <summary>One pass: returns what it did, for the tests and the log.</summary>
    public async Task<MaintenanceResult> RunOnceAsync(CancellationToken cancellationToken)
    {
        var db = redis.GetDatabase();
        // The lease outlives a couple of missed passes in real time, whatever clock the passes keep.
        var leaseMs = (long)Math.Max(PassInterval.TotalMilliseconds * 3, 30_000);
        if (!await TakeLeaseAsync(db, leaseMs))
        {
            return new MaintenanceResult(HeldLease: false, [], []);
        }
        var leaseTaken = Stopwatch.GetTimestamp();

        var now = time.GetUtcNow();
        var stopped = new List<string>();
        var checkpointed = new List<string>();
        foreach (var endpoint in redis.GetEndPoints())
        {
            var server = redis.GetServer(endpoint);
            if (server.IsReplica) { continue; }
            await foreach (var key in server.KeysAsync(db.Database, RedisKeys.Session("*")).WithCancellation(cancellationToken))
            {
                // A pass over many sessions renews the lease as it goes; one that lost it leaves the rest to the new holder.
                if (Stopwatch.GetElapsedTime(leaseTaken).TotalMilliseconds > leaseMs / 3)
                {
                    if (!await TakeLeaseAsync(db, leaseMs)) { return new MaintenanceResult(HeldLease: false, stopped, checkpointed); }
                    leaseTaken = Stopwatch.GetTimestamp();
                }
                var sessionId = key.ToString()["session:".Length..];
                var entries = await db.HashGetAllAsync(key);
                if (SessionRecord.FromHash(sessionId, entries) is not { Status: SessionStatus.Ready } session) { continue; }

                if (now - session.LastActivity >= _options.IdleTimeout)
                {
                    if (BeginStop(session)) { stopped.Add(sessionId); }
                    continue;
                }

                // Only while active: a session nobody touched since its last checkpoint has nothing new to save.
                var lastCheckpoint = LastCheckpoint(entries) ?? session.CreatedAt;
                if (now - lastCheckpoint >= _options.CheckpointInterval && session.LastActivity > lastCheckpoint)
                {
                    // Conditional, so a session stopped meanwhile does not come back as half a record.
                    var mark = db.CreateTransaction();
                    mark.AddCondition(Condition.KeyExists(key));
                    _ = mark.HashSetAsync(key, LastCheckpointField, now.ToUnixTimeMilliseconds());
                    if (!await mark.ExecuteAsync()) { continue; }
                    await syncJobs.EnqueueAsync(new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Sync, session.ProjectId, sessionId, SyncReasons.Checkpoint));
                    checkpointed.Add(sessionId);
                }
            }
        }
        return new MaintenanceResult(HeldLease: true, stopped, checkpointed);
    }

    private async Task<bool> TakeLeaseAsync(IDatabase db, long leaseMs) =>
        (int)await db.ScriptEvaluateAsync(LeaseScript, [LeaseKey], [_replicaId, leaseMs]) == 1;

    /// <summary>Idle stops begun by earlier passes and still running; the tests wait for them.</summary>
    public Task StopsInProgressAsync() => Task.WhenAll(_stops.Values);

    /// <summary>Starts the stop of an idle session beside the pass; false when one is already under way.</summary>
    private bool BeginStop(SessionRecord session)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stop = RunStopAsync(session, gate.Task);
        if (!_stops.TryAdd(session.SessionId, stop))
        {
            gate.SetCanceled();
            return false;
        }
        gate.SetResult();
        return true;
    }

    private async Task RunStopAsync(SessionRecord session, Task gate)
    {
        try
        {
            await gate;
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            await _stopSlots.WaitAsync(_shutdown.Token);
            try
            {
                await StopIdleAsync(session, _shutdown.Token);
            }
            finally
            {
                _stopSlots.Release();
            }
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException)
        {
            LogIdleStopFailed(logger, e, session.SessionId);
        }
        finally
        {
            _stops.TryRemove(session.SessionId, out _);
        }
    }

    private async Task StopIdleAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        if (!await sessions.TryBeginIdleStopAsync(session, time.GetUtcNow() - _options.IdleTimeout)) { return; }
        if (!await IsPodAliveAsync(session, cancellationToken))
        {
            // Nothing to sync from a dead pod: waiting for its final sync to time out would only hold a stop slot.
            await sessions.DiscardAsync(session, CancellationToken.None);
            LogDeadPodDiscarded(logger, session.SessionId, session.ProjectId);
            return;
        }
        try
        {
            await sessions.StopAsync(session, cancellationToken);
            LogIdleStopped(logger, session.SessionId, session.ProjectId);
        }
        catch (Exception e) when (e is SessionStopException or TimeoutException or RedisException)
        {
            var failures = (long)await redis.GetDatabase().ScriptEvaluateAsync(CountFailureScript,
                [RedisKeys.Session(session.SessionId)], [StopFailuresField]);
            if (failures < _options.MaxStopFailures)
            {
                LogIdleStopFailed(logger, e, session.SessionId);
                return;
            }
            // Kept for ever, the pod would hold its quota and its node; its unsaved work is lost, and the log says why.
            if (await sessions.TryBeginStopAsync(session.SessionId)) { await sessions.DiscardAsync(session, CancellationToken.None); }
            LogStopForced(logger, e, session.SessionId, session.ProjectId, failures);
        }
    }

    /// <summary>A runtime that cannot tell counts the pod alive: the final sync then finds out, and a failed one is retried.</summary>
    private async Task<bool> IsPodAliveAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        try
        {
            return await sessions.IsPodAliveAsync(session, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or IOException or InvalidOperationException)
        {
            return true;
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _shutdown.CancelAsync();
        await base.StopAsync(cancellationToken);
        await Task.WhenAll(_stops.Values).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public override void Dispose()
    {
        _shutdown.Dispose();
        _stopSlots.Dispose();
        base.Dispose();
    }

    private static DateTimeOffset? LastCheckpoint(HashEntry[] entries)
    {
        foreach (var entry in entries)
        {
            if (entry.Name == LastCheckpointField && long.TryParse(entry.Value.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
            {
                return DateTimeOffset.FromUnixTimeMilliseconds(ms);
            }
        }
        return null;
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Session {SessionId} of project {ProjectId} stopped after being idle")]
    private static partial void LogIdleStopped(ILogger logger, string sessionId, string projectId);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Error, Message = "Idle session {SessionId} could not be stopped; it is kept and retried next pass")]
    private static partial void LogIdleStopFailed(ILogger logger, Exception exception, string sessionId);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Warning, Message = "The pod of idle session {SessionId} of project {ProjectId} is gone; the session is discarded without a final sync")]
    private static partial void LogDeadPodDiscarded(ILogger logger, string sessionId, string projectId);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Error, Message = "Idle session {SessionId} of project {ProjectId} could not be stopped {Failures} times; it is ended without its final sync")]
    private static partial void LogStopForced(ILogger logger, Exception exception, string sessionId, string projectId, long failures);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Warning, Message = "A session maintenance pass failed")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

internal sealed record MaintenanceResult(bool HeldLease, IReadOnlyList<string> Stopped, IReadOnlyList<string> Checkpointed);
