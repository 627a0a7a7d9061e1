using System.Globalization;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>
/// Stops sessions idle for <see cref="SessionOptions.IdleTimeout"/> (final sync, then the pod goes) and runs a checkpoint
/// sync of every active session each <see cref="SessionOptions.CheckpointInterval"/>. One API replica does this at a
/// time, the holder of a Redis lease that it renews each pass and that lapses if it dies.
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
        if ((int)await db.ScriptEvaluateAsync(LeaseScript, [LeaseKey], [_replicaId, leaseMs]) != 1)
        {
            return new MaintenanceResult(HeldLease: false, [], []);
        }

        var now = time.GetUtcNow();
        var stopped = new List<string>();
        var checkpointed = new List<string>();
        foreach (var endpoint in redis.GetEndPoints())
        {
            var server = redis.GetServer(endpoint);
            if (server.IsReplica) { continue; }
            await foreach (var key in server.KeysAsync(db.Database, RedisKeys.Session("*")).WithCancellation(cancellationToken))
            {
                var sessionId = key.ToString()["session:".Length..];
                var entries = await db.HashGetAllAsync(key);
                if (SessionRecord.FromHash(sessionId, entries) is not { Status: SessionStatus.Ready } session) { continue; }

                if (now - session.LastActivity >= _options.IdleTimeout)
                {
                    if (await StopIdleAsync(session, cancellationToken)) { stopped.Add(sessionId); }
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

    private async Task<bool> StopIdleAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        if (!await sessions.TryBeginStopAsync(session.SessionId)) { return false; }
        try
        {
            await sessions.StopAsync(session, cancellationToken);
            LogIdleStopped(logger, session.SessionId, session.ProjectId);
            return true;
        }
        catch (Exception e) when (e is SessionStopException or TimeoutException or RedisException)
        {
            LogIdleStopFailed(logger, e, session.SessionId);
            return false;
        }
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

    [LoggerMessage(EventId = 2203, Level = LogLevel.Warning, Message = "A session maintenance pass failed")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

internal sealed record MaintenanceResult(bool HeldLease, IReadOnlyList<string> Stopped, IReadOnlyList<string> Checkpointed);
