using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>
/// The API's check, before it connects to a session's agent, that the pod at the recorded address is the session's pod
/// (<see cref="PodIdentity"/>). A pod that cannot prove it is refused, counted, and its session marked for replacement.
/// </summary>
internal sealed partial class PodGate(IHttpClientFactory httpClients, IConnectionMultiplexer redis, ILogger<PodGate> logger)
{
    public const string HttpClientName = "pod-identity";

    /// <summary>Null when the pod proved it is <paramref name="session"/>'s; else why it was refused.</summary>
    public async Task<string?> CheckAsync(SessionRecord session, Uri portUrl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var reason = await PodIdentity.VerifyAsync(httpClients.CreateClient(HttpClientName), portUrl, session, cancellationToken);
        if (reason is null) { return null; }
        LogRefused(session.SessionId, portUrl, reason);
        await PodIdentity.RefuseAsync(redis.GetDatabase(), session, "api", reason);
        return reason;
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning,
        Message = "The pod at {Address} is not the pod of session {SessionId}: {Reason}. Refused; the session will be replaced")]
    private partial void LogRefused(string sessionId, Uri address, string reason);
}
