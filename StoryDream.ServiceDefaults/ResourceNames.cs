namespace StoryDream.ServiceDefaults;

/// <summary>
/// Names of the resources of the app model. The app host, the services and the tests share them, so a
/// connection string or service address injected under one name is read under the same name.
/// </summary>
public static class ResourceNames
{
    public const string Redis = "redis";
    public const string Firestore = "firestore";
    public const string Storage = "storage";
    public const string Api = "api";
    public const string Gateway = "gateway";
    public const string SyncWorker = "syncworker";

    /// <summary>Every resource of the local app model, in start order.</summary>
    public static readonly IReadOnlyList<string> All = [Redis, Firestore, Storage, Api, SyncWorker, Gateway];
}
