using StoryDream.Api.Messages;
using StoryDream.Api.Projects;

namespace StoryDream.Api.Chat;

/// <summary>Writes the chat's running summary: through the model when a key is configured, otherwise extractively.</summary>
internal interface IConversationSummarizer
{
    /// <summary>
    /// The summary of <paramref name="throughBoundary"/> (the whole conversation up to the boundary, oldest first).
    /// <paramref name="previous"/>, when there is one, covers a prefix of it, so a summarizer may extend it instead.
    /// </summary>
    Task<string> SummarizeAsync(ConversationSummary? previous, IReadOnlyList<ChatMessage> throughBoundary, CancellationToken cancellationToken);
}
