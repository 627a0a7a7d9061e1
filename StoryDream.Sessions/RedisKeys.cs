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

    /// <summary>Hash <c>projectId, filesUrl, podSecret</c>: where the sync worker hydrates a render pod, and what the pod must prove.</summary>
    public static string RenderPod(string renderId) => $"render:{renderId}";

    /// <summary>Channel of export progress for live clients: <c>{projectId, exportId, status, progress, lastUpdate}</c>.</summary>
    public const string ExportEventsChannel = "export-events";
    /// <summary>The set of a user's sessions (starting, ready or stopping): their active-session quota.</summary>
    public static string UserSessions(string userId) => $"{UserSessionsParts.Prefix}{userId}{UserSessionsParts.Suffix}";

    /// <summary>What comes before and after the user id in <see cref="UserSessions"/>, for scripts that find the key from a record.</summary>
    public static (string Prefix, string Suffix) UserSessionsParts => ("user:", ":sessions");

    /// <summary>A single-use chat WebSocket ticket: <c>{userId} {projectId}</c>, expiring on its own.</summary>
    public static string ChatTicket(string ticket) => $"chat-ticket:{ticket}";
}
