using System.Diagnostics;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>
/// One session per project, ever: the first start claims <c>project:{id}:active</c> and writes the session record in one
/// atomic script, every concurrent start finds that record and waits for it to be ready. Start = pod, hydrate from the
/// head snapshot, ready. Stop = a final sync that must succeed before the pod is deleted.
/// </summary>
internal sealed partial class SessionManager(
    IConnectionMultiplexer redis,
    ISessionRuntime runtime,
    SyncJobs syncJobs,
    IOptions<SessionOptions> options,
    TimeProvider time,
    ILogger<SessionManager> logger) : IDisposable
{
    // SET NX, the record and the owner's count in one step, so an active key never names a session without a record and
    // no two starts both take a user's last session. Members whose record is gone (an API that died mid-release) are
    // dropped first. Session keys are built here from ARGV[3]: one Redis, not a cluster. Returns 1 when claimed, 0 when
    // the project has a session, and -1 - (sessions in use) when the owner has no session left.
    private const string ClaimScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        for _, id in ipairs(redis.call('SMEMBERS', KEYS[3])) do
          if redis.call('EXISTS', ARGV[3] .. id) == 0 then redis.call('SREM', KEYS[3], id) end
        end
        local used = redis.call('SCARD', KEYS[3])
        if used >= tonumber(ARGV[2]) then return -1 - used end
        redis.call('SET', KEYS[1], ARGV[1])
        redis.call('HSET', KEYS[2], unpack(ARGV, 4))
        redis.call('SADD', KEYS[3], ARGV[1])
        return 1
        """;

    // Removes the active key only if it still names this session, with the record and the owner's count, so a newer
    // session is never touched. Every end of a session (stop, discard, failed start) comes here.
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
        end
        local owner = redis.call('HGET', KEYS[2], 'ownerId')
        if owner then redis.call('SREM', ARGV[2] .. owner .. ARGV[3], ARGV[1]) end
        redis.call('DEL', KEYS[2])
        return 1
        """;

    // Writes fields only while the record exists: a start or stop that lost its record must not resurrect half of it.
    private const string UpdateScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then
          redis.call('HSET', KEYS[1], unpack(ARGV))
          return 1
        end
        return 0
        """;

    // Moves the status from one value to another, so of two stoppers only one runs the final sync.
    private const string TransitionScript = """
        if redis.call('HGET', KEYS[1], 'status') == ARGV[1] then
          redis.call('HSET', KEYS[1], 'status', ARGV[2])
          return 1
        end
        return 0
        """;

    // An idle stop begins only if the session is still ready, untouched since the cut-off, and no chat turn holds the
    // project: checked in one step, so a turn starting at the idle boundary is never cut by the stop.
    private const string IdleStopScript = """
        if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
        if tonumber(redis.call('HGET', KEYS[1], 'lastActivity') or '0') > tonumber(ARGV[3]) then return 0 end
        if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'status', ARGV[2])
        return 1
        """;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan StartErrorLifetime = TimeSpan.FromMinutes(1);

    // A start is abandoned (its API died) only well after it should have finished or failed on its own.
    private static readonly TimeSpan AbandonSlack = TimeSpan.FromSeconds(30);

    private readonly SessionOptions _options = options.Value;

    private readonly PartitionedRateLimiter<string> _startLimiter = PartitionedRateLimiter.Create<string, string>(ownerId =>
        RateLimitPartition.GetFixedWindowLimiter(ownerId, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = options.Value.StartsPerWindow,
            Window = options.Value.StartRateWindow,
            QueueLimit = 0,
        }));

    private IDatabase Db => redis.GetDatabase();

    public string RuntimeName => runtime.Name;

    public void Dispose() => _startLimiter.Dispose();

    /// <summary>The project's session as recorded, in whatever state; null when there is none.</summary>
    public async Task<SessionRecord?> GetAsync(string projectId)
    {
        var sessionId = await Db.StringGetAsync(RedisKeys.ActiveSession(projectId));
        return sessionId.IsNullOrEmpty ? null : await ReadAsync(sessionId.ToString());
    }

    public async Task<SessionRecord?> ReadAsync(string sessionId) =>
        SessionRecord.FromHash(sessionId, await Db.HashGetAllAsync(RedisKeys.Session(sessionId)));

    /// <summary>Returns the project's ready session, starting one when there is none or when its pod died.</summary>
    public async Task<SessionRecord> StartAsync(string projectId, string ownerId, string headSnapshotId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(projectId);
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(headSnapshotId);
        var started = Stopwatch.GetTimestamp();
        string? waitingOn = null;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Stopwatch.GetElapsedTime(started) > _options.StartTimeout + AbandonSlack)
            {
                throw new TimeoutException($"The session of project {projectId} did not become ready within {_options.StartTimeout.TotalSeconds:0} s.");
            }

            var activeId = await Db.StringGetAsync(RedisKeys.ActiveSession(projectId));
            if (waitingOn is not null && activeId != waitingOn && await StartErrorAsync(projectId, waitingOn) is { } error)
            {
                throw new SessionStartException($"The session of project {projectId} failed to start: {error}");
            }
            if (activeId.IsNullOrEmpty)
            {
                var sessionId = Guid.NewGuid().ToString("D");
                var launch = new PodLaunch(PodCredentials.NewPodSecret(), PodCredentials.NewModelToken(sessionId));
                var claim = await TryClaimAsync(projectId, ownerId, sessionId, launch);
                if (claim < 0)
                {
                    throw new SessionQuotaException(_options.MaxActiveSessionsPerUser, -1 - claim);
                }
                if (claim == 1)
                {
                    // Only a pod actually started spends a start, so callers joining a start in progress cost nothing.
                    using var lease = _startLimiter.AttemptAcquire(ownerId);
                    if (!lease.IsAcquired)
                    {
                        await ReleaseAsync(projectId, sessionId);
                        throw new SessionRateLimitedException(_options.StartsPerWindow, _options.StartRateWindow,
                            lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : _options.StartRateWindow);
                    }
                    return await BringUpAsync(projectId, sessionId, headSnapshotId, launch, cancellationToken);
                }
                continue;
            }

            var record = await ReadAsync(activeId.ToString());
            switch (record)
            {
                case null:
                    await ReleaseAsync(projectId, activeId.ToString());
                    continue;
                case { Status: SessionStatus.Ready, ReplaceReason: { } reason }:
                    // Its address led to another pod: whatever answers there is not this session's, so start afresh.
                    LogMarkedPodReplaced(logger, record.SessionId, projectId, reason);
                    await DiscardAsync(record, cancellationToken);
                    continue;
                case { Status: SessionStatus.Ready } when record.Runtime != runtime.Name || await runtime.IsAliveAsync(record.SessionId, cancellationToken):
                    return record;
                case { Status: SessionStatus.Ready }:
                    LogDeadPodReplaced(logger, record.SessionId, projectId);
                    await DiscardAsync(record, cancellationToken);
                    continue;
                case { Status: SessionStatus.Starting } when time.GetUtcNow() - record.CreatedAt > _options.StartTimeout + AbandonSlack:
                    LogAbandonedStart(logger, record.SessionId, projectId);
                    await DiscardAsync(record, cancellationToken);
                    continue;
                default:
                    if (record.Status == SessionStatus.Starting) { waitingOn = record.SessionId; }
                    await Task.Delay(PollInterval, cancellationToken);
                    continue;
            }
        }
    }

    /// <summary>
    /// Marks a ready session as stopping; false when it is not ready (already stopping, or still starting). Whoever gets
    /// true owns the stop and must call <see cref="StopAsync"/>.
    /// </summary>
    public async Task<bool> TryBeginStopAsync(string sessionId) =>
        (int)await Db.ScriptEvaluateAsync(TransitionScript, [RedisKeys.Session(sessionId)],
            [SessionRecord.StatusText(SessionStatus.Ready), SessionRecord.StatusText(SessionStatus.Stopping)]) == 1;

    /// <summary>
    /// <see cref="TryBeginStopAsync"/> for an idle session: false as well when it was active after
    /// <paramref name="idleBefore"/> or a chat turn of its project runs.
    /// </summary>
    public async Task<bool> TryBeginIdleStopAsync(SessionRecord session, DateTimeOffset idleBefore)
    {
        ArgumentNullException.ThrowIfNull(session);
        return (int)await Db.ScriptEvaluateAsync(IdleStopScript,
            [RedisKeys.Session(session.SessionId), Chat.ChatTurns.LockKey(session.ProjectId)],
            [SessionRecord.StatusText(SessionStatus.Ready), SessionRecord.StatusText(SessionStatus.Stopping), idleBefore.ToUnixTimeMilliseconds()]) == 1;
    }

    /// <summary>
    /// Final sync, then teardown, for a session marked stopping by <see cref="TryBeginStopAsync"/>. A failed final sync
    /// of a live pod puts the session back to ready, keeps the pod and throws; a pod that is already dead has nothing
    /// left to save and is discarded.
    /// </summary>
    public async Task<string?> StopAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var job = new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Sync, session.ProjectId, session.SessionId, SyncReasons.SessionEnd);
        SyncEvent result;
        try
        {
            result = await syncJobs.RunAsync(job, _options.StopSyncTimeout, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or RedisException)
        {
            await AbortStopAsync(session);
            throw;
        }
        if (result.Status != SyncEvent.Done)
        {
            if (!await runtime.IsAliveAsync(session.SessionId, CancellationToken.None))
            {
                LogDeadPodDiscarded(logger, session.SessionId, session.ProjectId, result.Error);
                await DiscardAsync(session, CancellationToken.None);
                return null;
            }
            await AbortStopAsync(session);
            throw new SessionStopException($"The final sync of session {session.SessionId} failed ({result.Error}); the pod is kept so no work is lost.");
        }

        await runtime.DeleteAsync(session.SessionId, CancellationToken.None);
        await ReleaseAsync(session.ProjectId, session.SessionId);
        LogStopped(logger, session.SessionId, session.ProjectId, result.SnapshotId);
        return result.SnapshotId;
    }

    /// <summary>Deletes the pod and the records without a final sync: the pod is gone, or its project is.</summary>
    public async Task DiscardAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await runtime.DeleteAsync(session.SessionId, cancellationToken);
        await ReleaseAsync(session.ProjectId, session.SessionId);
    }

    public Task TouchAsync(string sessionId) =>
        Db.ScriptEvaluateAsync(UpdateScript, [RedisKeys.Session(sessionId)], ["lastActivity", time.GetUtcNow().ToUnixTimeMilliseconds()]);

    /// <summary>
    /// Whether the session's pod runs; records of another runtime are taken at their word. A session whose address led
    /// to another pod has no pod of its own any more.
    /// </summary>
    public Task<bool> IsPodAliveAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (session.ReplaceReason is not null) { return Task.FromResult(false); }
        return session.Runtime == runtime.Name ? runtime.IsAliveAsync(session.SessionId, cancellationToken) : Task.FromResult(true);
    }

    private async Task<int> TryClaimAsync(string projectId, string ownerId, string sessionId, PodLaunch launch)
    {
        var now = time.GetUtcNow();
        // The gateway answers 503 for a starting session and never dials these.
        var placeholder = new Uri("http://pending.invalid/");
        var record = new SessionRecord(sessionId, projectId, ownerId, SessionStatus.Starting, runtime.Name, placeholder, placeholder, placeholder, now, now,
            launch.PodSecret, PodCredentials.HashModelToken(launch.ModelToken));
        var args = new List<RedisValue> { sessionId, _options.MaxActiveSessionsPerUser, RedisKeys.Session("") };
        foreach (var entry in record.ToHashEntries()) { args.Add(entry.Name); args.Add(entry.Value); }
        return (int)await Db.ScriptEvaluateAsync(ClaimScript,
            [RedisKeys.ActiveSession(projectId), RedisKeys.Session(sessionId), RedisKeys.UserSessions(ownerId)], [.. args]);
    }

    private async Task<SessionRecord> BringUpAsync(string projectId, string sessionId, string headSnapshotId, PodLaunch launch, CancellationToken cancellationToken)
    {
        // The start finishes or fails within StartTimeout, before any other start may judge it abandoned.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.StartTimeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var endpoints = await runtime.CreateAsync(sessionId, projectId, launch, deadline.Token);
            var podReady = Stopwatch.GetElapsedTime(started);
            await UpdateAsync(sessionId,
                ("previewUrl", endpoints.PreviewUrl.ToString()), ("agentUrl", endpoints.AgentUrl.ToString()), ("filesUrl", endpoints.FilesUrl.ToString()));
            await PublishAsync(SessionEvent.Created, sessionId, projectId);

            var hydrate = new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Hydrate, projectId, sessionId, SyncReasons.Restore, SnapshotId: headSnapshotId);
            var result = await syncJobs.RunAsync(hydrate, _options.StartTimeout, deadline.Token);
            if (result.Status != SyncEvent.Done)
            {
                throw new SessionStartException($"hydrating from snapshot {headSnapshotId} failed: {result.Error}");
            }

            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            // The first checkpoint is due a full interval after the session is ready, not after it was claimed.
            await UpdateAsync(sessionId,
                ("status", SessionRecord.StatusText(SessionStatus.Ready)), ("lastActivity", now), (SessionMaintenance.LastCheckpointField, now));
            await PublishAsync(SessionEvent.Ready, sessionId, projectId);
            LogStarted(logger, sessionId, projectId, runtime.Name, Stopwatch.GetElapsedTime(started).TotalMilliseconds, podReady.TotalMilliseconds);
            return await ReadAsync(sessionId) ?? throw new SessionStartException($"session {sessionId} was released while it started.");
        }
        catch (Exception e)
        {
            LogStartFailed(logger, e, sessionId, projectId);
            await Db.StringSetAsync(StartErrorKey(projectId), $"{sessionId}\n{e.Message}", StartErrorLifetime);
            await runtime.DeleteAsync(sessionId, CancellationToken.None);
            await ReleaseAsync(projectId, sessionId);
            if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The session of project {projectId} did not become ready within {_options.StartTimeout.TotalSeconds:0} s.", e);
            }
            throw;
        }
    }

    /// <summary>The reason a start failed, when the start that failed was <paramref name="sessionId"/>.</summary>
    private async Task<string?> StartErrorAsync(string projectId, string sessionId)
    {
        var value = await Db.StringGetAsync(StartErrorKey(projectId));
        if (value.IsNullOrEmpty) { return null; }
        var text = value.ToString();
        var split = text.IndexOf('\n', StringComparison.Ordinal);
        return split > 0 && text[..split] == sessionId ? text[(split + 1)..] : null;
    }

    // Not part of the shared contract: only starts of this API read it, to fail together with the start they waited for.
    private static string StartErrorKey(string projectId) => $"project:{projectId}:start-error";

    private Task<RedisResult> UpdateAsync(string sessionId, params (string Name, RedisValue Value)[] fields)
    {
        var args = new RedisValue[fields.Length * 2];
        for (var i = 0; i < fields.Length; i++) { args[2 * i] = fields[i].Name; args[(2 * i) + 1] = fields[i].Value; }
        return Db.ScriptEvaluateAsync(UpdateScript, [RedisKeys.Session(sessionId)], args);
    }

    private async Task ReleaseAsync(string projectId, string sessionId)
    {
        var (prefix, suffix) = RedisKeys.UserSessionsParts;
        await Db.ScriptEvaluateAsync(ReleaseScript, [RedisKeys.ActiveSession(projectId), RedisKeys.Session(sessionId)], [sessionId, prefix, suffix]);
        await PublishAsync(SessionEvent.Destroyed, sessionId, projectId);
    }

    private async Task AbortStopAsync(SessionRecord session)
    {
        await Db.ScriptEvaluateAsync(TransitionScript, [RedisKeys.Session(session.SessionId)],
            [SessionRecord.StatusText(SessionStatus.Stopping), SessionRecord.StatusText(SessionStatus.Ready)]);
        // Ready again: the gateway and the chat see the session come back rather than wait for a teardown that will not come.
        await PublishAsync(SessionEvent.Ready, session.SessionId, session.ProjectId);
    }

    private Task<long> PublishAsync(string type, string sessionId, string projectId) =>
        redis.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.SessionEventsChannel), new SessionEvent(type, sessionId, projectId).ToJson());

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information,
        Message = "Session {SessionId} of project {ProjectId} is ready ({Runtime} runtime) in {ElapsedMs:0} ms, the pod up after {PodMs:0} ms")]
    private static partial void LogStarted(ILogger logger, string sessionId, string projectId, string runtime, double elapsedMs, double podMs);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Session {SessionId} of project {ProjectId} failed to start")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, string sessionId, string projectId);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Session {SessionId} of project {ProjectId} stopped; final snapshot {SnapshotId}")]
    private static partial void LogStopped(ILogger logger, string sessionId, string projectId, string? snapshotId);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Session {SessionId} of project {ProjectId} was left starting by a dead API; taking over")]
    private static partial void LogAbandonedStart(ILogger logger, string sessionId, string projectId);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "The pod of session {SessionId} of project {ProjectId} is gone; starting a new session")]
    private static partial void LogDeadPodReplaced(ILogger logger, string sessionId, string projectId);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "The address of session {SessionId} of project {ProjectId} led to another pod ({Reason}); starting a new session")]
    private static partial void LogMarkedPodReplaced(ILogger logger, string sessionId, string projectId, string reason);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "The pod of session {SessionId} of project {ProjectId} died before its final sync ({Error}); discarded")]
    private static partial void LogDeadPodDiscarded(ILogger logger, string sessionId, string projectId, string? error);
}

/// <summary>A session could not be started; the message says why.</summary>
internal sealed class SessionStartException(string message) : Exception(message);

/// <summary>The owner has <see cref="Used"/> sessions of <see cref="Limit"/>.</summary>
internal sealed class SessionQuotaException(int limit, int used)
    : Exception($"You have {used} active sessions, the most one user may have ({limit}); stop one to start another.")
{
    public int Limit { get; } = limit;

    public int Used { get; } = used;
}

/// <summary>The owner started <see cref="Limit"/> sessions within the start rate window.</summary>
internal sealed class SessionRateLimitedException(int limit, TimeSpan window, TimeSpan retryAfter)
    : Exception($"You started {limit} sessions within {window}, the most allowed; retry in {Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))} s.")
{
    public int Limit { get; } = limit;

    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>A session's final sync failed, so its pod is kept.</summary>
internal sealed class SessionStopException(string message) : Exception(message);
