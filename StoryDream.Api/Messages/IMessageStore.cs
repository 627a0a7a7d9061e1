using StoryDream.Api.Http;

namespace StoryDream.Api.Messages;

internal interface IMessageStore
{
    /// <summary>Stores a message stamped with the current time (microseconds, as Firestore keeps it) and returns it so.</summary>
    Task<ChatMessage> AddAsync(string projectId, ChatMessage message, CancellationToken cancellationToken);

    /// <summary>One message, or null when the project has no such message.</summary>
    Task<ChatMessage?> GetAsync(string projectId, string messageId, CancellationToken cancellationToken);

    /// <summary>The project's messages, oldest first.</summary>
    Task<(IReadOnlyList<ChatMessage> Items, PageCursor? Next)> ListAsync(string projectId, int pageSize, PageCursor? after, CancellationToken cancellationToken);

    /// <summary>
    /// Rewrites a stored message's content, status, actions and token count (its role and creation time stay); the chat
    /// uses it to finish a streaming assistant message.
    /// </summary>
    Task UpdateAsync(string projectId, ChatMessage message, CancellationToken cancellationToken);

    /// <summary>The project's newest <paramref name="count"/> messages, oldest first.</summary>
    Task<IReadOnlyList<ChatMessage>> ListLatestAsync(string projectId, int count, CancellationToken cancellationToken);

    Task DeleteAllAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>Whether a decoded page cursor could have come from this store.</summary>
    bool IsValidCursor(PageCursor cursor);
}
