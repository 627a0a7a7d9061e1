namespace StoryDream.SyncWorker.Pods;

/// <summary>
/// The job cannot succeed as asked: hostile or over-limit input from a pod, a session that is gone or belongs to another
/// project, a snapshot that does not exist. The job fails at once (no retry) and nothing is committed.
/// </summary>
internal sealed class SyncRefusedException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>The pod could not be reached or answered with a server error: worth another try later.</summary>
internal sealed class PodUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>A file's bytes did not hash to what the pod's manifest said: the agent rewrote it meanwhile, or the pod lies.</summary>
internal sealed class ContentChangedException(string message) : Exception(message);
