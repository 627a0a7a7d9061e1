using StoryDream.GoogleCloud.Firestore;

namespace StoryDream.Api.Auth;

/// <summary><c>apiClients/{clientId}</c>: owner, name and the key's SHA-256; revoking deletes the document.</summary>
internal sealed class FirestoreApiKeyStore(FirestoreClient firestore) : IApiKeyStore
{
    private const string Collection = "apiClients";

    public Task CreateAsync(ApiClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        return firestore.CreateAsync(Path(client.ClientId),
            new ApiClientDocument(client.OwnerId, client.Name, client.KeyHash, client.CreatedAt, client.LastUsedAt), cancellationToken);
    }

    public async Task<ApiClient?> FindAsync(string clientId, CancellationToken cancellationToken)
    {
        var document = await firestore.GetAsync<ApiClientDocument>(Path(clientId), cancellationToken);
        return document?.Data is { OwnerId: not null, KeyHash: not null } data ? data.ToClient(clientId) : null;
    }

    public async Task<IReadOnlyList<ApiClient>> ListAsync(string ownerId, CancellationToken cancellationToken)
    {
        var documents = await firestore.RunQueryAsync<ApiClientDocument>(
            StructuredQuery.Collection(Collection).Where("ownerId", QueryOperator.Equal, ownerId), cancellationToken);
        return documents.Select(d => d.Data.ToClient(d.Id)).ToList();
    }

    public async Task<bool> DeleteAsync(string ownerId, string clientId, CancellationToken cancellationToken)
    {
        var document = await firestore.GetAsync<ApiClientDocument>(Path(clientId), cancellationToken);
        if (document is null || document.Data.OwnerId != ownerId) { return false; }
        await firestore.DeleteAsync(Path(clientId), cancellationToken: cancellationToken);
        return true;
    }

    public async Task TouchAsync(string clientId, DateTimeOffset usedAt, CancellationToken cancellationToken)
    {
        try
        {
            await firestore.PatchAsync(Path(clientId), new Dictionary<string, object?> { ["lastUsedAt"] = usedAt }, Precondition.MustExist, cancellationToken);
        }
        catch (FirestoreException e) when (e.Status == FirestoreStatus.NotFound)
        {
            // Revoked meanwhile; never recreate it.
        }
    }

    private static string Path(string clientId) => $"{Collection}/{clientId}";

    internal sealed record ApiClientDocument(string OwnerId, string Name, string KeyHash, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt)
    {
        public ApiClient ToClient(string clientId) => new(clientId, OwnerId, Name, KeyHash, CreatedAt, LastUsedAt);
    }
}
