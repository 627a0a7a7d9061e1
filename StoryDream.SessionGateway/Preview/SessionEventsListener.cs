using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.SessionGateway.Preview;

/// <summary>
/// Drops a session's cached destination whenever <c>session-events</c> says anything about it, and re-reads the whole cache
/// after a Redis reconnect, because messages published while the gateway was disconnected are lost (pub/sub keeps nothing).
/// </summary>
internal sealed partial class SessionEventsListener(
    IConnectionMultiplexer redis, SessionDestinations destinations, TimeProvider time, ILogger<SessionEventsListener> logger) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);
    private CancellationToken _stopping;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        redis.ConnectionRestored += OnConnectionRestored;
        try
        {
            var subscriber = redis.GetSubscriber();
            var channel = RedisChannel.Literal(RedisKeys.SessionEventsChannel);
            // Redis may be down when the gateway starts; once subscribed, StackExchange.Redis re-subscribes by itself.
            while (true)
            {
                try
                {
                    await subscriber.SubscribeAsync(channel, (_, message) => OnMessage(message));
                    LogSubscribed(logger);
                    break;
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    LogSubscribeFailed(logger, e);
                    await Task.Delay(RetryDelay, time, stoppingToken);
                }
            }
            // Requests may have filled the cache before the subscription existed.
            await RefreshAsync();
            await Task.Delay(Timeout.Infinite, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            redis.ConnectionRestored -= OnConnectionRestored;
        }
    }

    private void OnMessage(RedisValue message)
    {
        if (SessionEvent.FromJson(message.ToString()) is { } sessionEvent)
        {
            destinations.Invalidate(sessionEvent.SessionId);
        }
        else
        {
            var text = message.ToString();
            LogBadMessage(logger, text.Length > 200 ? text[..200] : text);
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => _ = RefreshAsync();

    private async Task RefreshAsync()
    {
        try
        {
            await destinations.RefreshAllAsync(_stopping);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogRefreshFailed(logger, e);
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Listening to session events.")]
    private static partial void LogSubscribed(ILogger logger);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Could not subscribe to session events yet; retrying.")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Ignored a session event that is not {{type, sessionId, projectId}}: {Message}")]
    private static partial void LogBadMessage(ILogger logger, string message);

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "Could not re-read the cached sessions after a reconnect.")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
