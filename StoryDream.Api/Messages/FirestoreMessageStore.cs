using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Snapshots;

namespace StoryDream.Api.Messages;

/// <summary>
/// <c>projects/{id}/messages/{messageId}</c>, ordered by <c>createdAt</c>, then id. One chat writes a project's messages
/// at a time, so this process's clock orders them.
/// </summary>
internal sealed class FirestoreMessageStore(FirestoreClient firestore, TimeProvider time) : IMessageStore
{
    private const int DeleteBatchSize = 300;

    public async Task<ChatMessage> AddAsync(string projectId, ChatMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var ticks = time.GetUtcNow().UtcTicks;
        var stored = message with { CreatedAt = new DateTimeOffset(ticks - (ticks % 10), TimeSpan.Zero) };
        await firestore.CreateAsync(Path(projectId, message.Id), MessageDocument.From(stored), cancellationToken);
        return stored;
    }

    public async Task<(IReadOnlyList<ChatMessage> Items, PageCursor? Next)> ListAsync(string projectId, int pageSize, PageCursor? after, CancellationToken cancellationToken)
    {
        var query = StructuredQuery.Collection(Collection(projectId))
            .OrderBy("createdAt")
            .OrderBy(StructuredQuery.DocumentId)
            .Limit(pageSize + 1);
        if (after is not null && FirestoreProjectStore.TryParseTime(after.Position, out var time))
        {
            query = query.StartAfter(time, new FirestoreReference(Path(projectId, after.Id)));
        }
        var documents = await firestore.RunQueryAsync<MessageDocument>(query, cancellationToken);
        var items = documents.Take(pageSize).Select(d => d.Data.ToMessage(d.Id, d.CreateTime)).ToList();
        var next = documents.Count > pageSize ? new PageCursor(FirestoreProjectStore.FormatTime(items[^1].CreatedAt), items[^1].Id) : null;
        return (items, next);
    }

    public async Task<ChatMessage?> GetAsync(string projectId, string messageId, CancellationToken cancellationToken) =>
        await firestore.GetAsync<MessageDocument>(Path(projectId, messageId), cancellationToken) is { } document
            ? document.Data.ToMessage(document.Id, document.CreateTime)
            : null;

    public async Task UpdateAsync(string projectId, ChatMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var document = MessageDocument.From(message);
        await firestore.CommitAsync(
        [
            Write.Patch(Path(projectId, message.Id), new Dictionary<string, object?>
            {
                ["content"] = document.Content,
                ["status"] = document.Status,
                ["actions"] = document.Actions,
                ["tokenCount"] = document.TokenCount,
            }).WithPrecondition(Precondition.MustExist),
        ], cancellationToken);
    }

    public async Task<IReadOnlyList<ChatMessage>> ListLatestAsync(string projectId, int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var query = StructuredQuery.Collection(Collection(projectId))
            .OrderByDescending("createdAt")
            .OrderByDescending(StructuredQuery.DocumentId)
            .Limit(count);
        var documents = await firestore.RunQueryAsync<MessageDocument>(query, cancellationToken);
        return documents.Select(d => d.Data.ToMessage(d.Id, d.CreateTime)).Reverse().ToList();
    }

    public async Task DeleteAllAsync(string projectId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var page = await firestore.ListDocumentsAsync<object>(Collection(projectId), DeleteBatchSize, null, cancellationToken);
            if (page.Documents.Count == 0) { return; }
            await firestore.CommitAsync(page.Documents.Select(d => Write.Delete(d.Path)), cancellationToken);
        }
    }

    public bool IsValidCursor(PageCursor cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        return ProjectIds.IsValid(cursor.Id) && FirestoreProjectStore.TryParseTime(cursor.Position, out _);
    }

    private static string Collection(string projectId) => $"{SnapshotDocuments.Project(projectId)}/messages";

    private static string Path(string projectId, string messageId) => $"{Collection(projectId)}/{messageId}";

    internal sealed record ActionDocument(string Type, string? FilePath, string? Summary, string? SnapshotId);

    internal sealed record SourceDocument(string Kind, string? ClientId, string? ClientName);

    internal sealed record MessageDocument(
        string Role, string Content, string Status, IReadOnlyList<ActionDocument>? Actions, DateTimeOffset? CreatedAt, int? TokenCount, SourceDocument? Source = null)
    {
        public static MessageDocument From(ChatMessage message) => new(
            message.Role, message.Content, message.Status,
            message.Actions.Select(a => new ActionDocument(a.Type, a.FilePath, a.Summary, a.SnapshotId)).ToList(), message.CreatedAt, message.TokenCount,
            message.Source is { } source ? new SourceDocument(source.Kind, source.ClientId, source.ClientName) : null);

        public ChatMessage ToMessage(string id, DateTimeOffset createTime) => new(
            id, Role, Content, Status,
            (Actions ?? []).Select(a => new MessageAction(a.Type, a.FilePath, a.Summary, a.SnapshotId)).ToList(),
            CreatedAt ?? createTime, TokenCount)
        {
            Source = Source is { } source ? new MessageSource(source.Kind, source.ClientId, source.ClientName) : null,
        };
    }
}
