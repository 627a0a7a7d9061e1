using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.Api.Exports;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;
using StoryDream.Api.Sessions;
using SessionOptions = StoryDream.Api.Sessions.SessionOptions;

namespace StoryDream.Api.Chat;

/// <summary>
/// One turn at a time per project, across replicas: a turn holds <c>chat:{id}:turn</c> (SET NX with a TTL it renews), so
/// a second message while one runs is refused as <c>busy</c>, and a replica that dies mid-turn frees the project within a
/// TTL. Turns run apart from the socket that asked (a closed tab must not lose the assistant message); <c>cancel</c>
/// reaches the replica running the turn through <c>chat:{id}:control</c>; preview errors wait in <c>chat:{id}:preview-errors</c>
/// for the next turn.
/// </summary>
internal sealed partial class ChatTurns(
    IConnectionMultiplexer redis,
    ChatHub hub,
    SessionManager sessions,
    PodGate podGate,
    SyncJobs syncJobs,
    IMessageStore messages,
    IProjectStore projects,
    ConversationContext conversation,
    ThumbnailRenderer thumbnails,
    IOptions<ChatOptions> chatOptions,
    IOptions<SessionOptions> sessionOptions,
    TimeProvider time,
    ILogger<ChatTurns> logger) : IHostedService, IDisposable
{
    public const string CancelSignal = "cancel";
    public static readonly TimeSpan LockTtl = TimeSpan.FromSeconds(30);
    private const int MaxPreviewErrors = 20;
    private static readonly TimeSpan PreviewErrorLifetime = TimeSpan.FromHours(1);

    private const string RenewScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        return 0
        """;

    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    private readonly CancellationTokenSource _shutdown = new();
    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);

    public static string LockKey(string projectId) => $"chat:{projectId}:turn";

    public static RedisChannel ControlChannel(string projectId) => RedisChannel.Literal($"chat:{projectId}:control");

    public static string PreviewErrorsKey(string projectId) => $"chat:{projectId}:preview-errors";

    private IDatabase Db => redis.GetDatabase();

    /// <summary>Starts a turn for the message, or returns false when the project's turn lock is taken.</summary>
    public async Task<bool> TryStartAsync(string projectId, string ownerId, ClientFrame.UserMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return await TryRunAsync(projectId, ownerId, new TurnRequest(message.Content, message.ClientMessageId)) is not null;
    }

    /// <summary>
    /// Starts a turn and returns it, to be awaited for its outcome; null when the project's turn lock is taken. The turn
    /// runs apart from the caller all the same: cancelling the wait does not cancel the turn.
    /// </summary>
    public async Task<Task<TurnResult>?> TryRunAsync(string projectId, string ownerId, TurnRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var turnId = Guid.NewGuid().ToString("D");
        if (!await Db.StringSetAsync(LockKey(projectId), turnId, LockTtl, When.NotExists)) { return null; }

        var turn = new Turn(projectId, ownerId, turnId, request);
        var outcome = new TaskCompletionSource<TurnResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Task.Run(() => RunAsync(turn, outcome));
        _running[turnId] = run;
        _ = run.ContinueWith(_ => _running.TryRemove(turnId, out var _), TaskScheduler.Default);
        return outcome.Task;
    }

    public Task CancelAsync(string projectId) => redis.GetSubscriber().PublishAsync(ControlChannel(projectId), CancelSignal);

    public async Task AddPreviewErrorAsync(string projectId, ClientFrame.PreviewError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var json = new JsonObject { ["type"] = "preview_error", ["message"] = error.Message, ["stack"] = error.Stack }.ToJsonString();
        var batch = Db.CreateTransaction();
        _ = batch.ListLeftPushAsync(PreviewErrorsKey(projectId), json);
        _ = batch.ListTrimAsync(PreviewErrorsKey(projectId), 0, MaxPreviewErrors - 1);
        _ = batch.KeyExpireAsync(PreviewErrorsKey(projectId), PreviewErrorLifetime);
        await batch.ExecuteAsync();
    }

    /// <summary>The buffered preview errors, oldest first, removed in the same step.</summary>
    internal async Task<IReadOnlyList<JsonObject>> TakePreviewErrorsAsync(string projectId)
    {
        var batch = Db.CreateTransaction();
        var read = batch.ListRangeAsync(PreviewErrorsKey(projectId));
        _ = batch.KeyDeleteAsync(PreviewErrorsKey(projectId));
        await batch.ExecuteAsync();
        var errors = new List<JsonObject>();
        foreach (var value in (await read).Reverse())
        {
            try
            {
                if (JsonNode.Parse(value.ToString()) is JsonObject error) { errors.Add(error); }
            }
            catch (JsonException)
            {
                // Only this class writes the list; a foreign entry is skipped rather than sent to the agent.
            }
        }
        return errors;
    }

    /// <summary>Runs the turn; its outcome is given as soon as it is known, before the conversation summary is refreshed.</summary>
    private async Task RunAsync(Turn turn, TaskCompletionSource<TurnResult> outcome)
    {
        try
        {
            using var renewal = new CancellationTokenSource();
            var renewing = RenewAsync(turn, renewal.Token);
            try
            {
                await RunTurnAsync(turn, _shutdown.Token);
            }
            finally
            {
                await renewal.CancelAsync();
                await renewing;
                await ReleaseLockAsync(turn);
            }
        }
        catch (Exception e)
        {
            outcome.TrySetException(e);
            throw;
        }
        outcome.TrySetResult(turn.Result());
        await RefreshSummaryAsync(turn, _shutdown.Token);
    }

    /// <summary>Releases the turn's lock if it still holds it; a second release does nothing.</summary>
    private Task<RedisResult> ReleaseLockAsync(Turn turn) => Db.ScriptEvaluateAsync(ReleaseScript, [LockKey(turn.ProjectId)], [turn.TurnId]);

    /// <summary>Keeps the lock and the session's activity fresh while the turn runs, so neither lapses under a long turn.</summary>
    private async Task RenewAsync(Turn turn, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(LockTtl / 3);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await Db.ScriptEvaluateAsync(RenewScript, [LockKey(turn.ProjectId)], [turn.TurnId, (long)LockTtl.TotalMilliseconds]);
                if (turn.SessionId is { } sessionId) { await sessions.TouchAsync(sessionId); }
            }
        }
        catch (OperationCanceledException)
        {
            // The turn ended.
        }
        catch (RedisException e)
        {
            LogRenewFailed(logger, e, turn.ProjectId);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Running turns get the host's shutdown window to finish; after it they end as failed.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(_running.Values).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await _shutdown.CancelAsync();
            await Task.WhenAll(_running.Values);
        }
    }

    public void Dispose() => _shutdown.Dispose();

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "Renewing the turn lock of project {ProjectId} failed")]
    private static partial void LogRenewFailed(ILogger logger, Exception exception, string projectId);
}
