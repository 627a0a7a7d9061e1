using StoryDream.Api.Http;

namespace StoryDream.Api.Messages;

internal interface IMessageStore
{
    /// <summary>Stores a message; <see cref="ChatMessage.CreatedAt"/> is set by the database and returned.</summary>
    Task<ChatMessage> AddAsync(string projectId, ChatMessage message, CancellationToken cancellationToken);

    /// <summary>The project's messages, oldest first.</summary>
    Task<(IReadOnlyList<ChatMessage> Items, PageCursor? Next)> ListAsync(string projectId, int pageSize, PageCursor? after, CancellationToken cancellationToken);

    Task DeleteAllAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>Whether a decoded page cursor could have come from this store.</summary>
    bool IsValidCursor(PageCursor cursor);
}
