using System.Collections.Concurrent;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>
/// Runs requested stops (final sync, then teardown) apart from the request that asked, so a closed browser cannot cut a
/// final sync short. On shutdown it gives running stops the host's shutdown window, then cancels them, which puts their
/// sessions back to ready for the next API to adopt.
/// </summary>
internal sealed partial class SessionStops(SessionManager sessions, ILogger<SessionStops> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);

    /// <summary>Marks the session stopping and stops it in the background; false when it is not ready (starting, or already stopping).</summary>
    public async Task<bool> BeginAsync(SessionRecord session)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (!await sessions.TryBeginStopAsync(session.SessionId)) { return false; }
        var stop = Task.Run(() => RunAsync(session));
        _running[session.SessionId] = stop;
        _ = stop.ContinueWith(_ => _running.TryRemove(session.SessionId, out var _), TaskScheduler.Default);
        return true;
    }

    private async Task RunAsync(SessionRecord session)
    {
        try
        {
            await sessions.StopAsync(session, _stopping.Token);
        }
        catch (Exception e) when (e is SessionStopException or TimeoutException or OperationCanceledException or RedisException)
        {
            LogStopFailed(logger, e, session.SessionId, session.ProjectId);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_running.Values).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await _stopping.CancelAsync();
            await Task.WhenAll(_running.Values);
        }
    }

    public void Dispose() => _stopping.Dispose();

    [LoggerMessage(EventId = 2401, Level = LogLevel.Error, Message = "Stopping session {SessionId} of project {ProjectId} failed; the session is kept")]
    private static partial void LogStopFailed(ILogger logger, Exception exception, string sessionId, string projectId);
}
