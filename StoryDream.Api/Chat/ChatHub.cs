using System.Collections.Concurrent;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Api.Chat;

/// <summary>
/// Fans chat frames out to every socket on every replica: a frame is published once on the Redis channel
/// <c>chat:{projectId}</c>, and each replica that holds sockets of that project subscribes once and hands the frame to
/// each of them. Session events become <c>session_status</c> frames the same way, from the one <c>session-events</c>
/// subscription every replica has. A queue subscription keeps frames in publication order.
/// </summary>
internal sealed partial class ChatHub(IConnectionMultiplexer redis, ILogger<ChatHub> logger) : IHostedService, IDisposable
{
    private readonly ConcurrentDictionary<string, ProjectRoom> _rooms = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _roomsLock = new(1, 1);
    private ChannelMessageQueue? _sessionEvents;

    public static RedisChannel Channel(string projectId) => RedisChannel.Literal($"chat:{projectId}");

    public Task PublishAsync(string projectId, byte[] frame) => redis.GetSubscriber().PublishAsync(Channel(projectId), frame);

    /// <summary>Delivers the project's frames to <paramref name="client"/> until the returned handle is disposed.</summary>
    public async Task<IAsyncDisposable> JoinAsync(string projectId, ChatClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        await _roomsLock.WaitAsync();
        try
        {
            if (!_rooms.TryGetValue(projectId, out var room))
            {
                var queue = await redis.GetSubscriber().SubscribeAsync(Channel(projectId));
                room = new ProjectRoom(queue);
                queue.OnMessage(message => room.Deliver(message.Message));
                _rooms[projectId] = room;
            }
            room.Clients[client] = 0;
        }
        finally
        {
            _roomsLock.Release();
        }
        return new Membership(this, projectId, client);
    }

    private async Task LeaveAsync(string projectId, ChatClient client)
    {
        await _roomsLock.WaitAsync();
        try
        {
            if (!_rooms.TryGetValue(projectId, out var room)) { return; }
            room.Clients.TryRemove(client, out _);
            if (room.Clients.IsEmpty)
            {
                _rooms.TryRemove(projectId, out _);
                await room.Queue.UnsubscribeAsync();
            }
        }
        finally
        {
            _roomsLock.Release();
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _sessionEvents = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisKeys.SessionEventsChannel));
        _sessionEvents.OnMessage(message =>
        {
            if (SessionEvent.FromJson(message.Message.ToString()) is not { } e || !_rooms.TryGetValue(e.ProjectId, out var room)) { return; }
            var status = e.Type switch
            {
                // Created: the pod is up and its files are being restored; ready follows the restore.
                SessionEvent.Created => ChatApi.Restoring,
                SessionEvent.Ready => "ready",
                SessionEvent.Destroyed => "stopped",
                _ => null,
            };
            if (status is not null) { room.Deliver(ChatFrames.Status(status)); }
        });
        LogStarted(logger);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_sessionEvents is null) { return; }
        try
        {
            await _sessionEvents.UnsubscribeAsync();
        }
        catch (Exception e) when (e is RedisException or ObjectDisposedException)
        {
            // Stopping anyway: the subscription ends with the connection, and a Redis that is away must not fail shutdown.
            // Disposed: OpenTelemetry's Redis instrumentation can be disposed with the tracer before this service stops,
            // and then throws from the unsubscribe (open-telemetry/opentelemetry-dotnet-contrib#4905, fixed upstream after
            // the copy Aspire ships).
            LogUnsubscribeFailed(logger, e);
        }
    }

    public void Dispose() => _roomsLock.Dispose();

    private sealed class ProjectRoom(ChannelMessageQueue queue)
    {
        public ChannelMessageQueue Queue { get; } = queue;

        public ConcurrentDictionary<ChatClient, byte> Clients { get; } = new();

        public void Deliver(byte[] frame)
        {
            foreach (var client in Clients.Keys) { client.Send(frame); }
        }

        public void Deliver(RedisValue frame)
        {
            if (frame.IsNullOrEmpty) { return; }
            Deliver((byte[])frame!);
        }
    }

    private sealed class Membership(ChatHub hub, string projectId, ChatClient client) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => new(hub.LeaveAsync(projectId, client));
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Chat hub subscribed to session events")]
    private static partial void LogStarted(ILogger logger);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Chat hub could not unsubscribe from session events while stopping")]
    private static partial void LogUnsubscribeFailed(ILogger logger, Exception exception);
}
