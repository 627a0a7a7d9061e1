using System.Collections.Concurrent;
using System.Threading.Channels;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.SessionGateway.Preview;

internal readonly record struct ActivityTouch(string SessionId, long UnixMilliseconds);

/// <summary>
/// Preview traffic keeps a session alive (DESIGN section 4): each session's <c>lastActivity</c> is touched at most once per
/// <see cref="Interval"/>. The request path only decides and queues; <see cref="SessionActivityWriter"/> writes to Redis.
/// </summary>
internal sealed class SessionActivity(TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, long> _lastTouch = new(StringComparer.Ordinal);
    private readonly long _intervalTicks = (long)(Interval.TotalSeconds * time.TimestampFrequency);

    // Bounded so a Redis outage cannot grow memory; a dropped touch only means the next one comes later.
    private readonly Channel<ActivityTouch> _touches = Channel.CreateBounded<ActivityTouch>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    internal ChannelReader<ActivityTouch> Touches => _touches.Reader;

    /// <summary>Queues a touch unless this session had one within the interval; true when it queued one.</summary>
    public bool Touch(string sessionId)
    {
        var now = time.GetTimestamp();
        if (_lastTouch.TryGetValue(sessionId, out var last))
        {
            if (now - last < _intervalTicks || !_lastTouch.TryUpdate(sessionId, now, last)) { return false; }
        }
        else if (!_lastTouch.TryAdd(sessionId, now))
        {
            return false;
        }
        return _touches.Writer.TryWrite(new ActivityTouch(sessionId, time.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    /// <summary>Forgets sessions not touched within the interval: their next request touches anyway, so nothing changes.</summary>
    internal void Prune()
    {
        var now = time.GetTimestamp();
        foreach (var (sessionId, last) in _lastTouch)
        {
            if (now - last >= _intervalTicks)
            {
                _lastTouch.TryRemove(KeyValuePair.Create(sessionId, last));
            }
        }
    }

    internal int Tracked => _lastTouch.Count;
}

/// <summary>Writes queued activity touches to Redis, off the request path.</summary>
internal sealed partial class SessionActivityWriter(
    SessionActivity activity, IConnectionMultiplexer redis, TimeProvider time, ILogger<SessionActivityWriter> logger) : BackgroundService
{
    // Only an existing session is touched (a touch must not resurrect a destroyed one as a bare hash), and only forwards.
    private static readonly LuaScript TouchScript = LuaScript.Prepare("""
        local current = redis.call('HGET', @key, 'lastActivity')
        if current and tonumber(current) < tonumber(@at) then
          redis.call('HSET', @key, 'lastActivity', @at)
          return 1
        end
        return 0
        """);

    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastPrune = time.GetTimestamp();
        try
        {
            await foreach (var touch in activity.Touches.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await redis.GetDatabase().ScriptEvaluateAsync(TouchScript, new { key = (RedisKey)RedisKeys.Session(touch.SessionId), at = touch.UnixMilliseconds });
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    LogTouchFailed(logger, touch.SessionId, e);
                }
                if (time.GetElapsedTime(lastPrune) >= PruneEvery)
                {
                    activity.Prune();
                    lastPrune = time.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 30, Level = LogLevel.Warning, Message = "Could not touch the activity of session {SessionId}.")]
    private static partial void LogTouchFailed(ILogger logger, string sessionId, Exception exception);
}
