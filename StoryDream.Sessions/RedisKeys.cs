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

    /// <summary>Hash <c>projectId, filesUrl</c>: where the sync worker hydrates a render pod.</summary>
    public static string RenderPod(string renderId) => $"render:{renderId}";

    /// <summary>Channel of export progress for live clients: <c>{projectId, exportId, status, progress, lastUpdate}</c>.</summary>
    public const string ExportEventsChannel = "export-events";
}
