namespace StoryDream.Tests.SyncWorker;

/// <summary>A pod a test runs (real or hostile): where its file API is, and the session it proves it belongs to.</summary>
internal interface ITestPod
{
    Uri FilesUrl { get; }

    string SessionId { get; }

    string PodSecret { get; }
}
