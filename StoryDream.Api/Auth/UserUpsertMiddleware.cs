using System.Collections.Concurrent;
using System.Security.Claims;

namespace StoryDream.Api.Auth;

/// <summary>
/// The first request of a signed-in user upserts <c>users/{userId}</c>; after that, at most once per
/// <see cref="RefreshInterval"/> per process, so <c>lastLoginAt</c> stays meaningful without a write per request.
/// API keys act for an owner who signed in to create them, and a chat ticket for one who signed in to take it, so they write nothing here.
/// </summary>
internal sealed class UserUpsertMiddleware(RequestDelegate next, IUserStore users, TimeProvider time)
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromHours(1);
    private const int MaxRemembered = 100_000;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext context)
    {
        var user = context.User;
        if (user.Identity is { IsAuthenticated: true, AuthenticationType: not (AuthSchemes.ApiKey or AuthSchemes.ChatTicket) } && user.FindFirstValue(ApiClaims.Subject) is { } userId)
        {
            var now = time.GetUtcNow();
            if (!_seen.TryGetValue(userId, out var last) || now - last >= RefreshInterval)
            {
                await users.UpsertAsync(new UserProfile(userId, user.FindFirstValue(ApiClaims.Email), user.FindFirstValue(ApiClaims.Name)), now, context.RequestAborted);
                if (_seen.Count >= MaxRemembered) { _seen.Clear(); }
                _seen[userId] = now;
            }
        }
        await next(context);
    }
}
