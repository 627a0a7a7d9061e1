using System.Diagnostics;
using System.Collections.Concurrent;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>
/// Enqueues jobs on <c>sync:jobs</c> and lets callers await their result from <c>sync-events</c>. One subscription per
/// process; the waiter is registered before the job is added, so a fast worker's event is never missed.
/// </summary>
internal sealed class SyncJobs(IConnectionMultiplexer redis) : IAsyncDisposable
{
    private const int MaxStreamLength = 100_000;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<SyncEvent>> _waiters = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _subscribeLock = new(1, 1);
    private ChannelMessageQueue? _queue;

    public async Task<string> EnqueueAsync(SyncJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        // The worker continues the trace of whatever enqueued the job (a chat turn, a session start or stop).
        if (job.TraceParent is null && Activity.Current is { IdFormat: ActivityIdFormat.W3C } current)
        {
            job = job with { TraceParent = current.Id };
        }
        // Trimmed (approximately, so cheaply) far above any backlog a healthy worker pool leaves.
        var id = await redis.GetDatabase().StreamAddAsync(RedisKeys.SyncJobsStream, job.ToStreamFields(), maxLength: MaxStreamLength, useApproximateMaxLength: true);
        return id.ToString();
    }

    /// <summary>Adds the job and waits for its <c>done</c> or <c>failed</c> event.</summary>
    public async Task<SyncEvent> RunAsync(SyncJob job, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        await EnsureSubscribedAsync();
        var waiter = new TaskCompletionSource<SyncEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters[job.JobId] = waiter;
        try
        {
            await EnqueueAsync(job);
            return await waiter.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The {job.Kind} job {job.JobId} of project {job.ProjectId} did not finish within {timeout.TotalSeconds:0} s; is a sync worker running?");
        }
        finally
        {
            _waiters.TryRemove(job.JobId, out _);
        }
    }

    private async Task EnsureSubscribedAsync()
    {
        if (_queue is not null) { return; }
        await _subscribeLock.WaitAsync();
        try
        {
            if (_queue is not null) { return; }
            var queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisKeys.SyncEventsChannel));
            queue.OnMessage(message =>
            {
                if (SyncEvent.FromJson(message.Message.ToString()) is { } e && _waiters.TryGetValue(e.JobId, out var waiter))
                {
                    waiter.TrySetResult(e);
                }
            });
            _queue = queue;
        }
        finally
        {
            _subscribeLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_queue is not null) { await _queue.UnsubscribeAsync(); }
        }
        catch (Exception e) when (e is RedisException or ObjectDisposedException)
        {
            // Disposing anyway: the subscription ends with the connection, and a Redis that is away must not fail shutdown.
            // ObjectDisposedException: the container may dispose the connection's tracing (AddRedisClient's) before this.
        }
        _subscribeLock.Dispose();
    }
}
