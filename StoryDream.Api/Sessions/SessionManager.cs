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
    ILogger<SessionManager> logger)
{
    // SET NX and the record in one step, so an active key never names a session without a record.
    private const string ClaimScript = """
        if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
          redis.call('HSET', KEYS[2], unpack(ARGV, 2))
          return 1
        end
        return 0
        """;

    // Removes the active key only if it still names this session, with the record, so a newer session is never touched.
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
        end
        redis.call('DEL', KEYS[2])
        return 1
        """;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);
    private readonly SessionOptions _options = options.Value;

    private IDatabase Db => redis.GetDatabase();

    public async Task<SessionRecord?> GetAsync(string projectId)
    {
        var sessionId = await Db.StringGetAsync(RedisKeys.ActiveSession(projectId));
        return sessionId.IsNullOrEmpty ? null : await ReadAsync(sessionId.ToString());
    }

    public async Task<SessionRecord?> ReadAsync(string sessionId) =>
        SessionRecord.FromHash(sessionId, await Db.HashGetAllAsync(RedisKeys.Session(sessionId)));

    /// <summary>Returns the project's ready session, starting one when there is none.</summary>
    public async Task<SessionRecord> StartAsync(string projectId, string ownerId, string headSnapshotId, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + _options.StartTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"The session of project {projectId} did not become ready within {_options.StartTimeout.TotalSeconds:0} s.");
            }

            var activeId = await Db.StringGetAsync(RedisKeys.ActiveSession(projectId));
            if (activeId.IsNullOrEmpty)
            {
                var sessionId = Guid.NewGuid().ToString("D");
                if (await TryClaimAsync(projectId, ownerId, sessionId))
                {
                    return await BringUpAsync(projectId, ownerId, sessionId, headSnapshotId, cancellationToken);
                }
                continue;
            }

            var record = await ReadAsync(activeId.ToString());
            switch (record)
            {
                case null:
                    await ReleaseAsync(projectId, activeId.ToString());
                    continue;
                case { Status: SessionStatus.Ready }:
                    return record;
                case { Status: SessionStatus.Starting } when time.GetUtcNow() - record.CreatedAt > _options.StartTimeout:
                    // The API that claimed it died mid-start; take over. Its pod, if any, is reaped by the runtime's reconcile.
                    LogAbandonedStart(logger, record.SessionId, projectId);
                    await ReleaseAsync(projectId, record.SessionId);
                    continue;
                default:
                    await Task.Delay(PollInterval, time, cancellationToken);
                    continue;
            }
        }
    }

    /// <summary>Final sync, then teardown. A failed final sync keeps the pod and the session and says why.</summary>
    public async Task StopAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await Db.HashSetAsync(RedisKeys.Session(session.SessionId), "status", SessionRecord.StatusText(SessionStatus.Stopping));
        var job = new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Sync, session.ProjectId, session.SessionId, SyncReasons.SessionEnd);
        SyncEvent result;
        try
        {
            result = await syncJobs.RunAsync(job, _options.StopSyncTimeout, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            await RestoreReadyAsync(session);
            throw;
        }
        if (result.Status != SyncEvent.Done)
        {
            await RestoreReadyAsync(session);
            throw new InvalidOperationException($"The final sync of session {session.SessionId} failed ({result.Error}); the pod is kept so no work is lost.");
        }

        await runtime.DeleteAsync(session.SessionId, cancellationToken);
        await ReleaseAsync(session.ProjectId, session.SessionId);
        LogStopped(logger, session.SessionId, session.ProjectId, result.SnapshotId);
    }

    /// <summary>Deletes the pod and the records without a final sync: for a pod that is already gone.</summary>
    public async Task DiscardAsync(SessionRecord session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await runtime.DeleteAsync(session.SessionId, cancellationToken);
        await ReleaseAsync(session.ProjectId, session.SessionId);
    }

    public Task TouchAsync(string sessionId) =>
        Db.HashSetAsync(RedisKeys.Session(sessionId), "lastActivity", time.GetUtcNow().ToUnixTimeMilliseconds(), When.Exists);

    private async Task<bool> TryClaimAsync(string projectId, string ownerId, string sessionId)
    {
        var now = time.GetUtcNow();
        var placeholder = new Uri("http://pending.invalid/");
        var record = new SessionRecord(sessionId, projectId, ownerId, SessionStatus.Starting, runtime.Name, placeholder, placeholder, placeholder, now, now);
        var args = new List<RedisValue> { sessionId };
        foreach (var entry in record.ToHashEntries()) { args.Add(entry.Name); args.Add(entry.Value); }
        var claimed = (int)await Db.ScriptEvaluateAsync(ClaimScript, [RedisKeys.ActiveSession(projectId), RedisKeys.Session(sessionId)], [.. args]);
        return claimed == 1;
    }

    private async Task<SessionRecord> BringUpAsync(string projectId, string ownerId, string sessionId, string headSnapshotId, CancellationToken cancellationToken)
    {
        try
        {
            var endpoints = await runtime.CreateAsync(sessionId, projectId, cancellationToken);
            await Db.HashSetAsync(RedisKeys.Session(sessionId),
            [
                new("previewUrl", endpoints.PreviewUrl.ToString()),
                new("agentUrl", endpoints.AgentUrl.ToString()),
                new("filesUrl", endpoints.FilesUrl.ToString()),
            ]);
            await PublishAsync(SessionEvent.Created, sessionId, projectId);

            var hydrate = new SyncJob(Guid.NewGuid().ToString("D"), SyncKinds.Hydrate, projectId, sessionId, SyncReasons.Restore, SnapshotId: headSnapshotId);
            var result = await syncJobs.RunAsync(hydrate, _options.StartTimeout, cancellationToken);
            if (result.Status != SyncEvent.Done)
            {
                throw new InvalidOperationException($"Hydrating session {sessionId} from snapshot {headSnapshotId} failed: {result.Error}");
            }

            var now = time.GetUtcNow();
            await Db.HashSetAsync(RedisKeys.Session(sessionId),
            [
                new("status", SessionRecord.StatusText(SessionStatus.Ready)),
                new("lastActivity", now.ToUnixTimeMilliseconds()),
            ]);
            await PublishAsync(SessionEvent.Ready, sessionId, projectId);
            LogStarted(logger, sessionId, projectId, runtime.Name);
            return await ReadAsync(sessionId) ?? throw new InvalidOperationException($"Session {sessionId} vanished while starting.");
        }
        catch (Exception e)
        {
            LogStartFailed(logger, e, sessionId, projectId);
            await runtime.DeleteAsync(sessionId, CancellationToken.None);
            await ReleaseAsync(projectId, sessionId);
            throw;
        }
    }

    private async Task ReleaseAsync(string projectId, string sessionId)
    {
        await Db.ScriptEvaluateAsync(ReleaseScript, [RedisKeys.ActiveSession(projectId), RedisKeys.Session(sessionId)], [sessionId]);
        await PublishAsync(SessionEvent.Destroyed, sessionId, projectId);
    }

    private Task<bool> RestoreReadyAsync(SessionRecord session) =>
        Db.HashSetAsync(RedisKeys.Session(session.SessionId), "status", SessionRecord.StatusText(SessionStatus.Ready), When.Exists);

    private Task<long> PublishAsync(string type, string sessionId, string projectId) =>
        redis.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.SessionEventsChannel), new SessionEvent(type, sessionId, projectId).ToJson());

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Session {SessionId} of project {ProjectId} is ready ({Runtime} runtime)")]
    private static partial void LogStarted(ILogger logger, string sessionId, string projectId, string runtime);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Session {SessionId} of project {ProjectId} failed to start")]
    private static partial void LogStartFailed(ILogger logger, Exception exception, string sessionId, string projectId);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Session {SessionId} of project {ProjectId} stopped; final snapshot {SnapshotId}")]
    private static partial void LogStopped(ILogger logger, string sessionId, string projectId, string? snapshotId);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Session {SessionId} of project {ProjectId} was left starting by a dead API; taking over")]
    private static partial void LogAbandonedStart(ILogger logger, string sessionId, string projectId);
}
