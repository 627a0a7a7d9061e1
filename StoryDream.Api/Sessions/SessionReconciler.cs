using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>
/// On API start, makes Redis and the runtime agree: pods whose session record lives on are adopted as they are, pods
/// without a record are deleted, and records of this runtime whose pod is gone are released so the project can start anew.
/// </summary>
internal sealed partial class SessionReconciler(
    IConnectionMultiplexer redis,
    ISessionRuntime runtime,
    SessionManager sessions,
    ILogger<SessionReconciler> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var pods = await runtime.ListAsync(cancellationToken);
        var db = redis.GetDatabase();
        var alive = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            if (await sessions.ReadAsync(pod.SessionId) is null)
            {
                await runtime.DeleteAsync(pod.SessionId, cancellationToken);
                LogOrphanDeleted(logger, pod.SessionId);
                continue;
            }
            alive.Add(pod.SessionId);
            LogAdopted(logger, pod.SessionId, pod.ProjectId);
        }

        foreach (var endpoint in redis.GetEndPoints())
        {
            var server = redis.GetServer(endpoint);
            if (server.IsReplica) { continue; }
            await foreach (var key in server.KeysAsync(db.Database, RedisKeys.Session("*")).WithCancellation(cancellationToken))
            {
                var sessionId = key.ToString()["session:".Length..];
                var record = SessionRecord.FromHash(sessionId, await db.HashGetAllAsync(key));
                if (record is { Status: not SessionStatus.Starting } && record.Runtime == runtime.Name && !alive.Contains(sessionId))
                {
                    await sessions.DiscardAsync(record, cancellationToken);
                    LogDeadReleased(logger, sessionId, record.ProjectId);
                }
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 2301, Level = LogLevel.Information, Message = "Adopted running session pod {SessionId} of project {ProjectId}")]
    private static partial void LogAdopted(ILogger logger, string sessionId, string projectId);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "Deleted session pod {SessionId}: no session record names it")]
    private static partial void LogOrphanDeleted(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning, Message = "Released session {SessionId} of project {ProjectId}: its pod is gone")]
    private static partial void LogDeadReleased(ILogger logger, string sessionId, string projectId);
}
