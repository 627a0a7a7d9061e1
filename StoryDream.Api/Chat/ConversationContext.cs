using System.Text.Json;
using System.Text.Json.Nodes;
using StoryDream.Api.Http;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;

namespace StoryDream.Api.Chat;

/// <summary>
/// The <c>context</c> of the agent's <c>init</c> (DESIGN section 4): every prior message while there are
/// <see cref="FullHistoryLimit"/> or fewer, beyond that the conversation summary plus the last <see cref="RecentMessages"/>.
/// The summary is brought up to date on the way when it lags, so what the last messages leave out is always in it.
/// </summary>
internal sealed partial class ConversationContext(
    IMessageStore messages, IProjectStore projects, IConversationSummarizer summarizer, ILogger<ConversationContext> logger)
{
    public const int FullHistoryLimit = 30;
    public const int RecentMessages = 10;
    private const int PageSize = 200;

    /// <summary>
    /// The context for a turn that answers <paramref name="currentMessageId"/> (sent to the agent on its own, so left out
    /// here). Assistant messages still <c>streaming</c> from a turn that died with its API are marked failed on the way:
    /// the caller holds the project's turn lock, so no other turn is streaming.
    /// </summary>
    public async Task<JsonObject> BuildAsync(Project project, string currentMessageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        // One more than the limit, plus the current message, tells whether the limit is passed without counting them all.
        var latest = await messages.ListLatestAsync(project.Id, FullHistoryLimit + 2, cancellationToken);
        var prior = new List<ChatMessage>(latest.Count);
        foreach (var message in latest)
        {
            if (message.Id == currentMessageId) { continue; }
            prior.Add(message.Status == MessageStatuses.Streaming ? await FailAbandonedAsync(project.Id, message, cancellationToken) : message);
        }

        if (prior.Count <= FullHistoryLimit)
        {
            return new JsonObject { ["summary"] = null, ["messages"] = ToJson(prior) };
        }
        var boundary = prior[^(RecentMessages + 1)];
        var summary = await EnsureSummaryAsync(project, boundary.Id, cancellationToken);
        return new JsonObject { ["summary"] = summary.Text, ["messages"] = ToJson(prior[^RecentMessages..]) };
    }

    /// <summary>After a turn: moves the summary up to just before the last messages, so the next turn's start need not wait for it.</summary>
    public async Task RefreshSummaryAsync(Project project, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(project);
        // Every message now is a prior message of the next turn, whose own user message is left out of its context.
        var latest = await messages.ListLatestAsync(project.Id, FullHistoryLimit + 1, cancellationToken);
        if (latest.Count <= FullHistoryLimit) { return; }
        await EnsureSummaryAsync(project, latest[^(RecentMessages + 1)].Id, cancellationToken);
    }

    private async Task<ConversationSummary> EnsureSummaryAsync(Project project, string boundaryId, CancellationToken cancellationToken)
    {
        if (project.ConversationSummary is { } current && current.ThroughMessageId == boundaryId) { return current; }

        var history = new List<ChatMessage>();
        PageCursor? after = null;
        do
        {
            var (page, next) = await messages.ListAsync(project.Id, PageSize, after, newestFirst: false, cancellationToken);
            var end = page.ToList().FindIndex(m => m.Id == boundaryId);
            history.AddRange(end >= 0 ? page.Take(end + 1) : page);
            if (end >= 0) { break; }
            after = next;
        }
        while (after is not null);

        var summary = new ConversationSummary(await summarizer.SummarizeAsync(project.ConversationSummary, history, cancellationToken), boundaryId);
        await projects.SetConversationSummaryAsync(project.Id, summary, cancellationToken);
        LogSummaryUpdated(logger, project.Id, history.Count);
        return summary;
    }

    private async Task<ChatMessage> FailAbandonedAsync(string projectId, ChatMessage message, CancellationToken cancellationToken)
    {
        var failed = message with { Status = MessageStatuses.Failed };
        await messages.UpdateAsync(projectId, failed, cancellationToken);
        LogAbandonedFailed(logger, message.Id, projectId);
        return failed;
    }

    private static JsonArray ToJson(IEnumerable<ChatMessage> history) =>
        new([.. history.Select(m => JsonSerializer.SerializeToNode(m, JsonSerializerOptions.Web))]);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Conversation summary of project {ProjectId} updated over {MessageCount} messages")]
    private static partial void LogSummaryUpdated(ILogger logger, string projectId, int messageCount);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Assistant message {MessageId} of project {ProjectId} was left streaming by a turn that died; marked failed")]
    private static partial void LogAbandonedFailed(ILogger logger, string messageId, string projectId);
}
