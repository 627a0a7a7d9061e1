namespace StoryDream.Sessions;

/// <summary>The Redis keys, channels and streams of DESIGN section 2, in one place for every service.</summary>
public static class RedisKeys
{
    public const string SessionEventsChannel = "session-events";
    public const string SyncJobsStream = "sync:jobs";
    public const string SyncWorkersGroup = "sync-workers";
    public const string SyncEventsChannel = "sync-events";

    public static string Session(string sessionId) => $"session:{sessionId}";

    public static string ActiveSession(string projectId) => $"project:{projectId}:active";

    /// <summary>A single-use chat WebSocket ticket: <c>{userId} {projectId}</c>, expiring on its own.</summary>
    public static string ChatTicket(string ticket) => $"chat-ticket:{ticket}";
}
