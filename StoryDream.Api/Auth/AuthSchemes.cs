namespace StoryDream.Api.Auth;

internal static class AuthSchemes
{
    /// <summary>Picks <see cref="ApiKey"/> when an <c>X-Api-Key</c> header is present, <see cref="ChatTicket"/> for a chat ticket, otherwise <see cref="Bearer"/>.</summary>
    public const string Default = "BearerOrApiKey";
    public const string Bearer = "Bearer";
    public const string ApiKey = "ApiKey";
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>The chat WebSocket's single-use <c>?ticket=</c>, only on that route.</summary>
    public const string ChatTicket = "ChatTicket";

    /// <summary>Only a person signed in with a token may manage API keys: a leaked key cannot mint more.</summary>
    public const string SignedInPolicy = "SignedIn";
}

internal static class ApiClaims
{
    public const string Subject = "sub";
    public const string Email = "email";
    public const string Name = "name";
    public const string ClientId = "client_id";
    public const string ClientName = "client_name";
}
