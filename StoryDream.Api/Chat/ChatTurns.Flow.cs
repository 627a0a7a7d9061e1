using System.Net.WebSockets;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Sessions;

namespace StoryDream.Api.Chat;

/// <summary>
/// One turn: the user's message is stored and announced first; then the session (started if need be), the agent's
/// <c>init</c> with the context, the buffered preview errors and the message; deltas and actions are relayed as they
/// come; the assistant message, stored as <c>streaming</c>, ends <c>complete</c> or <c>failed</c>; then a sync makes the
/// turn's edits a snapshot, recorded on the message's actions and announced.
/// </summary>
internal sealed partial class ChatTurns
{
    private const int MaxAgentErrorBytes = 2_000;
    private static readonly HashSet<string> ActionTypes = new(StringComparer.Ordinal) { "file_edit", "file_create", "file_delete", "command_run" };

    private async Task RunTurnAsync(Turn turn, CancellationToken shutdown)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        limit.CancelAfter(chatOptions.Value.TurnTimeout);
        var cancellationToken = limit.Token;
        var control = await redis.GetSubscriber().SubscribeAsync(ControlChannel(turn.ProjectId));
        control.OnMessage(message =>
        {
            if (message.Message == CancelSignal) { turn.RequestCancel(); }
        });
        ChatMessage? assistant = null;
        SessionRecord? session = null;
        try
        {
            var user = await AddOnceAsync(turn.ProjectId,
                new ChatMessage(turn.Request.UserMessageId ?? NewId(), MessageRoles.User, turn.Request.Content, MessageStatuses.Complete, [], time.GetUtcNow(), null)
                {
                    Source = turn.Request.Source,
                }, cancellationToken);
            await hub.PublishAsync(turn.ProjectId, ChatFrames.Saved(user, turn.Request.ClientMessageId));

            var project = await projects.GetAsync(turn.OwnerId, turn.ProjectId, cancellationToken);
            if (project is null)
            {
                await FinishAsync(turn, ChatFrames.Failure(ChatErrorCodes.SessionFailed, turn.Fail(ChatErrorCodes.SessionFailed, "The project is gone.")));
                return;
            }
            session = await StartSessionAsync(turn, project, cancellationToken);
            if (session is null) { return; }

            var context = await conversation.BuildAsync(project, user.Id, cancellationToken);
            assistant = await AddOnceAsync(turn.ProjectId,
                new ChatMessage(turn.Request.AssistantMessageId ?? NewId(), MessageRoles.Assistant, "", MessageStatuses.Streaming, [], time.GetUtcNow(), null), cancellationToken);

            var outcome = await TalkToAgentAsync(turn, session, project, user, assistant.Id, context, cancellationToken);
            var finished = assistant with
            {
                Content = outcome.Content,
                Actions = outcome.Actions,
                Status = outcome.Failure is null ? MessageStatuses.Complete : MessageStatuses.Failed,
            };
            // Still streaming until stored: a store that fails here ends the turn with the message failed, text kept.
            assistant = finished with { Status = MessageStatuses.Streaming };
            await messages.UpdateAsync(turn.ProjectId, finished, CancellationToken.None);
            assistant = finished;
            turn.Assistant = assistant;
            if (outcome.AgentSessionId is { Length: > 0 } agentSessionId && agentSessionId != project.AgentSessionId)
            {
                await projects.SetAgentSessionIdAsync(turn.ProjectId, agentSessionId, CancellationToken.None);
            }
            if (outcome.Failure is { } failure)
            {
                turn.Fail(failure.Code, failure.Detail);
                await hub.PublishAsync(turn.ProjectId, ChatFrames.Failure(failure.Code, failure.Detail, assistant.Id));
            }
            if (outcome.PodGone && !await sessions.IsPodAliveAsync(session, CancellationToken.None))
            {
                // Gone before the client hears the turn is over, so its next message starts a new session.
                LogPodDied(logger, session.SessionId, turn.ProjectId);
                await sessions.DiscardAsync(session, CancellationToken.None);
                await FinishAsync(turn, ChatFrames.Complete(assistant));
                return;
            }
            await hub.PublishAsync(turn.ProjectId, ChatFrames.Complete(assistant));
            // Told while the sync runs (a headless job records its phase), and awaited before the turn's result is given.
            var agentFinished = turn.Request.AgentFinished?.Invoke(assistant) ?? Task.CompletedTask;
            try
            {
                // A failed or cancelled turn may have edited files too: they are saved all the same.
                await SyncAsync(turn, session, assistant, shutdown);
            }
            finally
            {
                await agentFinished;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RedisException or FirestoreException or HttpRequestException or InvalidOperationException or IOException)
        {
            LogTurnFailed(logger, e, turn.ProjectId);
            var (code, detail) = e is OperationCanceledException && !shutdown.IsCancellationRequested
                ? (ChatErrorCodes.AgentError, $"The turn ran past its limit of {chatOptions.Value.TurnTimeout.TotalMinutes:0} minutes.")
                : (ChatErrorCodes.Internal, "The turn failed on the server; your message is kept.");
            turn.Fail(code, detail, interrupted: shutdown.IsCancellationRequested);
            await FailQuietlyAsync(turn, assistant, code, detail);
        }
        finally
        {
            await control.UnsubscribeAsync();
            turn.Dispose();
        }
    }

    /// <summary>The project's ready session, started if need be; null (and the client told) when it cannot start.</summary>
    private async Task<SessionRecord?> StartSessionAsync(Turn turn, Project project, CancellationToken cancellationToken)
    {
        try
        {
            var session = await sessions.StartAsync(turn.ProjectId, turn.OwnerId, project.HeadSnapshotId, cancellationToken);
            turn.SessionId = session.SessionId;
            await sessions.TouchAsync(session.SessionId);
            return session;
        }
        catch (Exception e) when (e is Sessions.SessionStartException or TimeoutException)
        {
            LogTurnFailed(logger, e, turn.ProjectId);
            await FinishAsync(turn, ChatFrames.Failure(ChatErrorCodes.SessionFailed,
                turn.Fail(ChatErrorCodes.SessionFailed, $"The session could not start: {e.Message} Your message is kept.")));
            return null;
        }
    }

    private async Task<AgentOutcome> TalkToAgentAsync(
        Turn turn, SessionRecord session, Project project, ChatMessage user, string assistantId, JsonObject context, CancellationToken cancellationToken)
    {
        var content = new TurnContent(chatOptions.Value);
        AgentOutcome Failed(string code, string detail, bool podGone = false) => content.OverBudget
            ? new(content.Text, content.Actions, null, new TurnFailure(ChatErrorCodes.TurnTooLarge, OverBudgetDetail()), podGone)
            : new(content.Text, content.Actions, null, new TurnFailure(code, detail), podGone);
        const string PodGoneDetail = "The session stopped during the turn; your message is kept and a new session starts from the last saved snapshot.";

        if (turn.CancelRequested) { return Failed(ChatErrorCodes.Cancelled, "The turn was cancelled before it reached the agent."); }
        AgentConnection agent;
        try
        {
            if (await podGate.CheckAsync(session, session.AgentUrl, cancellationToken) is not null)
            {
                // Another session's pod answers at this address: not one byte of this conversation goes to it.
                return Failed(ChatErrorCodes.AgentUnavailable, PodGoneDetail, podGone: true);
            }
            agent = await AgentConnection.ConnectAsync(session.AgentUrl, PodIdentity.Authorization(session), cancellationToken);
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException)
        {
            return Failed(ChatErrorCodes.AgentUnavailable, PodGoneDetail, podGone: true);
        }

        var stopping = false;
        await using (agent)
        {
            using var read = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var onCancel = turn.CancelToken.Register(() => _ = CancelAgentAsync(agent, read));
            try
            {
                await agent.SendAsync(new JsonObject
                {
                    ["type"] = "init",
                    ["projectId"] = turn.ProjectId,
                    ["agentSessionId"] = project.AgentSessionId,
                    ["context"] = context,
                }, cancellationToken);
                foreach (var error in await TakePreviewErrorsAsync(turn.ProjectId)) { await agent.SendAsync(error, cancellationToken); }
                await agent.SendAsync(new JsonObject { ["type"] = "user_message", ["id"] = user.Id, ["content"] = user.Content }, cancellationToken);

                await foreach (var frame in agent.ReadFramesAsync(read.Token))
                {
                    switch (Text(frame, "type"))
                    {
                        case "assistant_delta" when Text(frame, "text") is { Length: > 0 } text:
                            if (content.AddDelta(text) is { Length: > 0 } relayed) { await hub.PublishAsync(turn.ProjectId, ChatFrames.Delta(assistantId, relayed)); }
                            // Stopped as a cancel stops it, so the sync that follows sees the agent's edits finished.
                            if (content.OverBudget && !stopping)
                            {
                                stopping = true;
                                _ = CancelAgentAsync(agent, read);
                            }
                            break;
                        // The pod nests the action ({type: "action", action: {type, filePath?, summary}}): both have a type.
                        case "action" when frame["action"] is JsonObject nested && ToAction(nested) is { } action && content.AddAction(action) is { } kept:
                            await hub.PublishAsync(turn.ProjectId, ChatFrames.Action(assistantId, kept));
                            break;
                        case "turn_complete" when content.OverBudget:
                            return Failed(ChatErrorCodes.TurnTooLarge, OverBudgetDetail());
                        case "turn_complete":
                            var reported = frame["actions"] is JsonArray list ? content.Reported(list.OfType<JsonObject>().Select(ToAction).OfType<MessageAction>()) : [];
                            return new AgentOutcome(content.Text, reported.Count > 0 ? reported : content.Actions, Text(frame, "agentSessionId"), null, PodGone: false);
                        case "error":
                            var code = Text(frame, "code") ?? ChatErrorCodes.AgentError;
                            return Failed(turn.CancelRequested ? ChatErrorCodes.Cancelled : ChatErrorCodes.AgentError,
                                $"The agent stopped: {TurnContent.Clip(Text(frame, "detail") ?? code, MaxAgentErrorBytes)}");
                        default:
                            break;
                    }
                }
            }
            catch (OperationCanceledException) when ((turn.CancelRequested || content.OverBudget) && !cancellationToken.IsCancellationRequested)
            {
                return Failed(ChatErrorCodes.Cancelled, "The turn was cancelled.");
            }
            catch (WebSocketException)
            {
                return Failed(ChatErrorCodes.AgentUnavailable, PodGoneDetail, podGone: true);
            }
            catch (AgentProtocolException e)
            {
                LogAgentBrokeProtocol(logger, e, turn.ProjectId);
                return Failed(ChatErrorCodes.AgentError, $"{e.Message} The turn is ended; your message is kept.");
            }
        }
        return turn.CancelRequested
            ? Failed(ChatErrorCodes.Cancelled, "The turn was cancelled.")
            : Failed(ChatErrorCodes.AgentUnavailable, PodGoneDetail, podGone: true);
    }

    private string OverBudgetDetail() =>
        $"The reply passed the limit of {chatOptions.Value.TurnBudgetBytes} bytes for one turn (Chat:TurnBudgetBytes); the agent was stopped and the reply is kept up to the limit.";

    private async Task CancelAgentAsync(AgentConnection agent, CancellationTokenSource read)
    {
        try
        {
            await agent.SendAsync(new JsonObject { ["type"] = "cancel" }, CancellationToken.None);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The turn is ending anyway.
        }
        try
        {
            read.CancelAfter(chatOptions.Value.CancelGrace);
        }
        catch (ObjectDisposedException)
        {
            // The turn ended before the grace began.
        }
    }

    /// <summary>Saves the turn's edits as a snapshot, records it on the message's actions and tells the clients.</summary>
    private async Task SyncAsync(Turn turn, SessionRecord session, ChatMessage assistant, CancellationToken cancellationToken)
    {
        var job = new SyncJob(NewId(), SyncKinds.Sync, turn.ProjectId, session.SessionId, SyncReasons.AgentTurn, MessageId: assistant.Id);
        SyncEvent result;
        try
        {
            result = await syncJobs.RunAsync(job, sessionOptions.Value.TurnSyncTimeout, cancellationToken);
        }
        catch (TimeoutException e)
        {
            result = new SyncEvent(job.JobId, turn.ProjectId, SyncEvent.Failed, Error: e.Message);
        }
        if (result.Status != SyncEvent.Done || result.SnapshotId is not { } snapshotId)
        {
            await FinishAsync(turn, ChatFrames.Failure(ChatErrorCodes.SyncFailed,
                turn.Fail(ChatErrorCodes.SyncFailed, $"This turn's edits are not saved yet ({result.Error}); the next checkpoint tries again."), assistant.Id));
            return;
        }
        if (assistant.Actions.Count > 0)
        {
            await messages.UpdateAsync(turn.ProjectId,
                assistant with { Actions = [.. assistant.Actions.Select(a => a with { SnapshotId = snapshotId })] }, CancellationToken.None);
        }
        turn.SnapshotId = snapshotId;
        await FinishAsync(turn, ChatFrames.Snapshot(snapshotId, assistant.Id, result.Skipped));
        thumbnails.Request(turn.ProjectId, snapshotId);
    }

    /// <summary>
    /// Adds the message; one with a caller-chosen id that is already stored (a headless job resumed after a restart) is
    /// reset to this content instead, so a retried turn never leaves a second copy in the history.
    /// </summary>
    private async Task<ChatMessage> AddOnceAsync(string projectId, ChatMessage message, CancellationToken cancellationToken)
    {
        try
        {
            return await messages.AddAsync(projectId, message, cancellationToken);
        }
        catch (FirestoreException e) when (e.Status == FirestoreStatus.AlreadyExists)
        {
            await messages.UpdateAsync(projectId, message, cancellationToken);
            return message;
        }
    }

    /// <summary>
    /// Frees the project for the next turn, then sends the turn's last frame: a client that answers it at once must
    /// not find the project busy.
    /// </summary>
    private async Task FinishAsync(Turn turn, byte[] lastFrame)
    {
        await ReleaseLockAsync(turn);
        await hub.PublishAsync(turn.ProjectId, lastFrame);
    }

    private async Task RefreshSummaryAsync(Turn turn, CancellationToken cancellationToken)
    {
        try
        {
            if (await projects.GetAsync(turn.OwnerId, turn.ProjectId, cancellationToken) is { } project)
            {
                await conversation.RefreshSummaryAsync(project, cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException or InvalidOperationException or IOException)
        {
            // The next turn brings the summary up to date itself when it needs it.
            LogSummaryFailed(logger, e, turn.ProjectId);
        }
    }

    /// <summary>
    /// Marks the assistant message failed and tells the clients; the frames go out even when the store cannot be
    /// written (the store failing may be why the turn failed), so no client waits on a turn that is over.
    /// </summary>
    private async Task FailQuietlyAsync(Turn turn, ChatMessage? assistant, string code, string detail)
    {
        if (assistant is { Status: MessageStatuses.Streaming })
        {
            assistant = assistant with { Status = MessageStatuses.Failed };
            try
            {
                await messages.UpdateAsync(turn.ProjectId, assistant, CancellationToken.None);
            }
            catch (Exception e) when (e is FirestoreException or HttpRequestException or InvalidOperationException or IOException)
            {
                LogTurnFailed(logger, e, turn.ProjectId);
            }
        }
        turn.Assistant = assistant;
        try
        {
            if (assistant is null)
            {
                await FinishAsync(turn, ChatFrames.Failure(code, detail));
                return;
            }
            await hub.PublishAsync(turn.ProjectId, ChatFrames.Failure(code, detail, assistant.Id));
            await FinishAsync(turn, ChatFrames.Complete(assistant));
        }
        catch (RedisException e)
        {
            LogTurnFailed(logger, e, turn.ProjectId);
        }
    }

    private static MessageAction? ToAction(JsonObject frame)
    {
        if (Text(frame, "type") is not { } type || !ActionTypes.Contains(type)) { return null; }
        return new MessageAction(type, Text(frame, "filePath"), Text(frame, "summary"), null);
    }

    private static string? Text(JsonObject frame, string name) =>
        frame[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static string NewId() => Guid.NewGuid().ToString("D");

    /// <summary>What the agent left: its streamed text and actions, and either its session id or why the turn failed.</summary>
    private sealed record AgentOutcome(string Content, IReadOnlyList<MessageAction> Actions, string? AgentSessionId, TurnFailure? Failure, bool PodGone);

    private sealed record TurnFailure(string Code, string Detail);

    private sealed class Turn(string projectId, string ownerId, string turnId, TurnRequest request) : IDisposable
    {
        private readonly CancellationTokenSource _cancel = new();
        private TurnFailure? _failure;
        private bool _interrupted;

        public string ProjectId { get; } = projectId;
        public string OwnerId { get; } = ownerId;
        public string TurnId { get; } = turnId;
        public TurnRequest Request { get; } = request;
        public string? SessionId { get; set; }
        public ChatMessage? Assistant { get; set; }
        public string? SnapshotId { get; set; }

        /// <summary>Records the turn's first failure and returns its detail, for the frame that tells the clients.</summary>
        public string Fail(string code, string detail, bool interrupted = false)
        {
            _failure ??= new TurnFailure(code, detail);
            _interrupted |= interrupted;
            return detail;
        }

        public TurnResult Result() => new(SessionId, Assistant, SnapshotId, _failure?.Code, _failure?.Detail, _interrupted);
        public bool CancelRequested => _cancel.IsCancellationRequested;
        public CancellationToken CancelToken => _cancel.Token;

        public void RequestCancel()
        {
            try
            {
                _cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The turn is over.
            }
        }

        public void Dispose() => _cancel.Dispose();
    }

    [LoggerMessage(EventId = 3302, Level = LogLevel.Error, Message = "A chat turn of project {ProjectId} failed")]
    private static partial void LogTurnFailed(ILogger logger, Exception exception, string projectId);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Warning, Message = "The pod of session {SessionId} of project {ProjectId} died during a turn; the session is discarded")]
    private static partial void LogPodDied(ILogger logger, string sessionId, string projectId);

    [LoggerMessage(EventId = 3305, Level = LogLevel.Warning, Message = "The agent of project {ProjectId} broke the protocol; the turn is ended")]
    private static partial void LogAgentBrokeProtocol(ILogger logger, Exception exception, string projectId);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Warning, Message = "Updating the conversation summary of project {ProjectId} failed")]
    private static partial void LogSummaryFailed(ILogger logger, Exception exception, string projectId);
}
