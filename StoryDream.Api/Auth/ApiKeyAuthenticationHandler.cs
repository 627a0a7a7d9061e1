using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace StoryDream.Api.Auth;

/// <summary>
/// <c>X-Api-Key</c>: one read of the key's document per request, so a revoked (deleted) key stops working at once; a client
/// id that names no key is not read again for a while (<see cref="UnknownApiKeys"/>).
/// The caller becomes the key's owner. <c>lastUsedAt</c> is written at most once a minute per key and process.
/// </summary>
internal sealed partial class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IApiKeyStore keys,
    UnknownApiKeys unknownKeys,
    TimeProvider time) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);
    private static readonly ConcurrentDictionary<string, DateTimeOffset> LastTouched = new(StringComparer.Ordinal);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(AuthSchemes.ApiKeyHeader, out var values)) { return AuthenticateResult.NoResult(); }
        var key = values.Count == 1 ? values[0] : null;
        if (ApiKeyFormat.ClientId(key) is not { } clientId) { return AuthenticateResult.Fail("The API key is malformed."); }

        var client = unknownKeys.Contains(clientId) ? null : await keys.FindAsync(clientId, Context.RequestAborted);
        if (client is null) { unknownKeys.Add(clientId); }
        if (client is null || !ApiKeyFormat.Verify(key!, client.KeyHash))
        {
            return AuthenticateResult.Fail("The API key is unknown or revoked.");
        }

        await TouchAsync(client);
        var identity = new ClaimsIdentity(
            [new Claim(ApiClaims.Subject, client.OwnerId), new Claim(ApiClaims.ClientId, client.ClientId), new Claim(ApiClaims.ClientName, client.Name)],
            AuthSchemes.ApiKey, ApiClaims.Subject, null);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), AuthSchemes.ApiKey));
    }

    private async Task TouchAsync(ApiClient client)
    {
        var now = time.GetUtcNow();
        if (LastTouched.TryGetValue(client.ClientId, out var last) && now - last < TouchInterval) { return; }
        LastTouched[client.ClientId] = now;
        try
        {
            await keys.TouchAsync(client.ClientId, now, Context.RequestAborted);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Bookkeeping only: a failed write must not turn a valid key away.
            LogTouchFailed(Logger, client.ClientId, e);
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Could not record the use of API key {ClientId}")]
    private static partial void LogTouchFailed(ILogger logger, string clientId, Exception exception);
}
