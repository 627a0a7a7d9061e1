using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StoryDream.Api.Auth;
using StoryDream.Api.Projects;
using StoryDream.Sessions;

namespace StoryDream.Api.Chat;

/// <summary>What <c>POST /api/projects/{id}/chat/ticket</c> answers: pass <see cref="Ticket"/> as <c>?ticket=</c> on the chat WebSocket.</summary>
public sealed record ChatTicketResponse(string Ticket, DateTimeOffset ExpiresAt);

/// <summary>
/// Browsers cannot set headers on a WebSocket, and a bearer token in a URL ends up in logs and histories (DESIGN section 8).
/// So the browser first takes a ticket with its token: random, single-use, 30 seconds, bound to the user and the project,
/// kept in Redis and consumed atomically (GETDEL) when the socket opens.
/// </summary>
internal static class ChatTickets
{
    public const string QueryName = "ticket";
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);
    private const int TicketBytes = 32;

    public static IEndpointRouteBuilder MapChatTicketApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(ChatApi.Route + "/ticket", IssueAsync).WithTags("Chat").RequireAuthorization();
        return app;
    }

    public static async Task<Results<Ok<ChatTicketResponse>, ProblemHttpResult>> IssueAsync(
        string id, ClaimsPrincipal user, IProjectStore projects, IConnectionMultiplexer redis, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } project) { return ProjectsApi.NotFound(); }
        var ticket = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(TicketBytes));
        await redis.GetDatabase().StringSetAsync(RedisKeys.ChatTicket(ticket), $"{user.UserId()} {project.Id}", Lifetime, When.NotExists);
        return TypedResults.Ok(new ChatTicketResponse(ticket, time.GetUtcNow() + Lifetime));
    }

    /// <summary>Whether a request should authenticate with a ticket: the chat route, a <c>ticket</c>, no other credentials.</summary>
    public static bool Carries(HttpRequest request) =>
        ChatServices.IsChatRoute(request.Path) && request.Query.ContainsKey(QueryName)
        && !request.Headers.ContainsKey("Authorization") && !request.Headers.ContainsKey(AuthSchemes.ApiKeyHeader);

    /// <summary>The user a ticket was issued to, when it is live, unused and for <paramref name="projectId"/>; it is spent either way.</summary>
    public static async Task<string?> RedeemAsync(IDatabase redis, string? ticket, string projectId)
    {
        if (string.IsNullOrEmpty(ticket) || ticket.Length != Base64Url.GetEncodedLength(TicketBytes) || !Base64Url.IsValid(ticket)) { return null; }
        var stored = (string?)await redis.StringGetDeleteAsync(RedisKeys.ChatTicket(ticket));
        return stored?.Split(' ') is [var userId, var boundProject] && boundProject == projectId ? userId : null;
    }
}

/// <summary>Authenticates the chat WebSocket by its <c>?ticket=</c> (see <see cref="ChatTickets"/>).</summary>
internal sealed class ChatTicketAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IConnectionMultiplexer redis)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!ChatTickets.Carries(Request)) { return AuthenticateResult.NoResult(); }
        var projectId = Request.Path.Value!.Split('/')[3];
        var userId = await ChatTickets.RedeemAsync(redis.GetDatabase(), Request.Query[ChatTickets.QueryName].ToString(), projectId);
        if (userId is null) { return AuthenticateResult.Fail("The chat ticket is unknown, already used, expired, or for another project."); }
        var identity = new ClaimsIdentity([new Claim(ApiClaims.Subject, userId)], AuthSchemes.ChatTicket, ApiClaims.Subject, null);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }
}
