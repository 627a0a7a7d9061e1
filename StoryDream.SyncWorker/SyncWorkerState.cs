using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace StoryDream.SyncWorker;

/// <summary>This process's name in the consumer group and the last time its loop went round, for <c>/health</c>.</summary>
internal sealed class SyncWorkerState(IOptions<SyncWorkerOptions> options)
{
    private long _heartbeatTicks;

    public string ConsumerName { get; } = options.Value.ConsumerName
        ?? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

    public DateTimeOffset? LastHeartbeat
    {
        get
        {
            var ticks = Interlocked.Read(ref _heartbeatTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    public void Heartbeat(DateTimeOffset now) => Interlocked.Exchange(ref _heartbeatTicks, now.UtcTicks);
}

/// <summary>
/// Ready when Redis answers and the consumer loop went round recently: a worker whose loop is stuck takes no jobs,
/// so it should not count as ready.
/// </summary>
internal sealed class SyncWorkerHealthCheck(IConnectionMultiplexer redis, SyncWorkerState state, IOptions<SyncWorkerOptions> options, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await redis.GetDatabase().PingAsync();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("Redis does not answer.", e);
        }
        var stale = (options.Value.ReadBlockTime + options.Value.ClaimInterval) * 3 + TimeSpan.FromSeconds(10);
        return state.LastHeartbeat is { } beat && time.GetUtcNow() - beat < stale
            ? HealthCheckResult.Healthy($"Consuming as {state.ConsumerName}.")
            : HealthCheckResult.Unhealthy($"The consumer loop has not gone round for over {stale.TotalSeconds:F0} s.");
    }
}
