namespace StoryDream.Api.Auth;

/// <summary>A stored API key (<c>apiClients/{clientId}</c>); the key itself is never stored, only its hash.</summary>
internal sealed record ApiClient(string ClientId, string OwnerId, string Name, string KeyHash, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

internal interface IApiKeyStore
{
    Task CreateAsync(ApiClient client, CancellationToken cancellationToken);

    Task<ApiClient?> FindAsync(string clientId, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiClient>> ListAsync(string ownerId, CancellationToken cancellationToken);

    /// <summary>Deletes the key if <paramref name="ownerId"/> owns it; false when there is no such key of theirs.</summary>
    Task<bool> DeleteAsync(string ownerId, string clientId, CancellationToken cancellationToken);

    Task TouchAsync(string clientId, DateTimeOffset usedAt, CancellationToken cancellationToken);
}
