using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.SessionGateway.Preview;

/// <summary>A ready session the gateway forwards to. Immutable but for the cookie it last accepted.</summary>
internal sealed class SessionDestination(string sessionId, string ownerId, string previewPrefix, string? podSecret)
{
    private AcceptedCookie? _accepted;

    /// <summary>Copies requests to this session's pod, with the pod secret the pod's preview wants (DESIGN section 8).</summary>
    public PreviewTransformer Transformer { get; } = new(podSecret is null ? null : $"Bearer {podSecret}");

    public string SessionId { get; } = sessionId;

    public string OwnerId { get; } = ownerId;

    /// <summary>The pod's preview base URL, as YARP wants its destination prefix.</summary>
    public string PreviewPrefix { get; } = previewPrefix;

    /// <summary>
    /// True when <paramref name="cookie"/> is the cookie whose signature was checked for this session within the last
    /// <see cref="AcceptedCookie"/> window, so the warm path skips the HMAC. Compared in fixed time: it is a credential.
    /// </summary>
    public bool IsAccepted(ReadOnlySpan<char> cookie, long nowTimestamp)
    {
        var accepted = Volatile.Read(ref _accepted);
        return accepted is not null && nowTimestamp < accepted.ValidUntil
            && CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(accepted.Value.AsSpan()), MemoryMarshal.AsBytes(cookie));
    }

    public void Accept(string cookie, long validUntilTimestamp) =>
        Volatile.Write(ref _accepted, new AcceptedCookie(cookie, validUntilTimestamp));

    private sealed record AcceptedCookie(string Value, long ValidUntil);
}

internal enum LookupStatus
{
    Ready,
    Starting,
    NotFound,
    Unavailable,
}

internal readonly record struct SessionLookup(LookupStatus Status, SessionDestination? Destination)
{
    public static readonly SessionLookup Starting = new(LookupStatus.Starting, null);
    public static readonly SessionLookup NotFound = new(LookupStatus.NotFound, null);
    public static readonly SessionLookup Unavailable = new(LookupStatus.Unavailable, null);
}

/// <summary>
/// Where each session's pod is, read from <c>session:{id}</c> in Redis and kept in memory until a <c>session-events</c>
/// message about that session (or a forwarding failure) drops it. A cached session never waits on Redis, so it keeps
/// working while Redis is away. Sessions still starting are not cached: their page reloads until the pod is ready.
/// </summary>
internal sealed partial class SessionDestinations
{
    private readonly ConcurrentDictionary<string, SessionDestination> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SessionDestination>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly IConnectionMultiplexer _redis;
    private readonly ILogger<SessionDestinations> _logger;
    // Bumped by every invalidation, so a Redis read that raced with one does not put back what was just dropped.
    private long _generation;

    public SessionDestinations(IConnectionMultiplexer redis, ILogger<SessionDestinations> logger)
    {
        _redis = redis;
        _logger = logger;
        _bySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool TryGetCached(ReadOnlySpan<char> sessionId, out SessionDestination destination) =>
        _bySpan.TryGetValue(sessionId, out destination!);

    /// <summary>The cached destination, or else what Redis says now.</summary>
    public ValueTask<SessionLookup> GetAsync(string sessionId) =>
        _cache.TryGetValue(sessionId, out var cached)
            ? ValueTask.FromResult(new SessionLookup(LookupStatus.Ready, cached))
            : new ValueTask<SessionLookup>(LoadAsync(sessionId));

    public void Invalidate(string sessionId)
    {
        Interlocked.Increment(ref _generation);
        if (_cache.TryRemove(sessionId, out _))
        {
            LogInvalidated(_logger, sessionId);
        }
    }

    /// <summary>Re-reads every cached session, for when <c>session-events</c> messages may have been missed (Redis was away).</summary>
    public async Task RefreshAllAsync(CancellationToken cancellationToken)
    {
        foreach (var sessionId in _cache.Keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var generation = Interlocked.Read(ref _generation);
            var lookup = await ReadAsync(sessionId);
            if (lookup.Status == LookupStatus.Unavailable) { return; }
            if (lookup.Status != LookupStatus.Ready) { Invalidate(sessionId); continue; }
            Store(sessionId, lookup.Destination!, generation, replace: true);
        }
    }

    private async Task<SessionLookup> LoadAsync(string sessionId)
    {
        var generation = Interlocked.Read(ref _generation);
        var lookup = await ReadAsync(sessionId);
        if (lookup.Status == LookupStatus.Ready)
        {
            Store(sessionId, lookup.Destination!, generation, replace: false);
        }
        return lookup;
    }

    // Stores, then takes it back if an invalidation ran since the read began: that invalidation may have come too early to
    // remove this entry, and what it was about (a destroyed session) must win over the older read.
    private void Store(string sessionId, SessionDestination destination, long readGeneration, bool replace)
    {
        if (replace) { _cache[sessionId] = destination; }
        else if (!_cache.TryAdd(sessionId, destination)) { return; }
        if (Interlocked.Read(ref _generation) != readGeneration)
        {
            _cache.TryRemove(KeyValuePair.Create(sessionId, destination));
        }
    }

    private async Task<SessionLookup> ReadAsync(string sessionId)
    {
        HashEntry[] entries;
        try
        {
            entries = await _redis.GetDatabase().HashGetAllAsync(RedisKeys.Session(sessionId));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogRedisUnavailable(_logger, sessionId, e);
            return SessionLookup.Unavailable;
        }

        var record = SessionRecord.FromHash(sessionId, entries);
        return record switch
        {
            null => SessionLookup.NotFound,
            { Status: SessionStatus.Starting } => SessionLookup.Starting,
            // A stopping session's pod still runs its final sync; its preview goes on until the session is destroyed.
            _ => new SessionLookup(LookupStatus.Ready, new SessionDestination(sessionId, record.OwnerId, record.PreviewUrl.ToString(), record.PodSecret)),
        };
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Dropped the cached destination of session {SessionId}.")]
    private static partial void LogInvalidated(ILogger logger, string sessionId);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Redis could not be read for session {SessionId}.")]
    private static partial void LogRedisUnavailable(ILogger logger, string sessionId, Exception exception);
}
