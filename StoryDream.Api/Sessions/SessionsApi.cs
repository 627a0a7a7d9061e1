using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using StoryDream.Api.Auth;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.Sessions;

namespace StoryDream.Api.Sessions;

/// <summary>A project's session: start or reuse, look, stop (DESIGN sections 3 and 4).</summary>
internal static class SessionsApi
{
    public static IEndpointRouteBuilder MapSessionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/projects/{id}/session").WithTags("Sessions").RequireAuthorization();
        api.MapPost("/", StartAsync);
        api.MapGet("/", GetAsync);
        api.MapDelete("/", StopAsync);
        return app;
    }

    /// <summary>
    /// The project's session, started when there is none. The start runs on the application's lifetime rather than the
    /// request's: other callers may be waiting on it, and a client that gives up must not cut it short for them.
    /// </summary>
    public static async Task<Results<Ok<SessionResponse>, ProblemHttpResult>> StartAsync(
        string id, ClaimsPrincipal user, IProjectStore projects, SessionManager sessions, PreviewTokens tokens, IOptions<SessionOptions> options,
        TimeProvider time, IHostApplicationLifetime lifetime, HttpContext httpContext, CancellationToken cancellationToken)
    {
        var userId = user.UserId();
        // Reuse without reading the project: a ready session recorded for this caller proves the project is theirs
        // (owners never change, and deleting a project discards its session). Anyone else takes the full path below.
        if (ProjectIds.IsValid(id) && await sessions.GetAsync(id) is { Status: SessionStatus.Ready } live && live.OwnerId == userId
            && await sessions.IsPodAliveAsync(live, cancellationToken))
        {
            await sessions.TouchAsync(live.SessionId);
            return TypedResults.Ok(SessionResponse.From(live, userId, tokens, options.Value, time));
        }
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } project) { return ProjectsApi.NotFound(); }
        SessionRecord session;
        try
        {
            session = await sessions.StartAsync(project.Id, userId, project.HeadSnapshotId, lifetime.ApplicationStopping).WaitAsync(cancellationToken);
        }
        catch (SessionQuotaException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status403Forbidden, title: "Session quota reached", type: ProblemTypes.QuotaExceeded,
                extensions: new Dictionary<string, object?> { ["limit"] = "Sessions:MaxActiveSessionsPerUser", ["max"] = e.Limit, ["used"] = e.Used });
        }
        catch (SessionRateLimitedException e)
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(e.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status429TooManyRequests, title: "Too many session starts", type: ProblemTypes.RateLimited,
                extensions: new Dictionary<string, object?> { ["limit"] = "Sessions:StartsPerWindow", ["max"] = e.Limit, ["used"] = e.Limit });
        }
        catch (Exception e) when (e is SessionStartException or TimeoutException)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "The session could not start",
                type: ProblemTypes.Unavailable);
        }
        await sessions.TouchAsync(session.SessionId);
        return TypedResults.Ok(SessionResponse.From(session, userId, tokens, options.Value, time));
    }

    public static async Task<Results<Ok<SessionResponse>, ProblemHttpResult>> GetAsync(
        string id, ClaimsPrincipal user, IProjectStore projects, SessionManager sessions, PreviewTokens tokens, IOptions<SessionOptions> options,
        TimeProvider time, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } project) { return ProjectsApi.NotFound(); }
        if (await sessions.GetAsync(project.Id) is not { } session) { return NoSession(); }
        return TypedResults.Ok(SessionResponse.From(session, user.UserId(), tokens, options.Value, time));
    }

    /// <summary>Accepted: the final sync and the teardown run in the background; the session reads <c>stopping</c> until it is gone.</summary>
    public static async Task<Results<Accepted<SessionResponse>, ProblemHttpResult>> StopAsync(
        string id, ClaimsPrincipal user, IProjectStore projects, SessionManager sessions, SessionStops stops, PreviewTokens tokens,
        IOptions<SessionOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } project) { return ProjectsApi.NotFound(); }
        if (await sessions.GetAsync(project.Id) is not { } session) { return NoSession(); }
        if (session.Status == SessionStatus.Starting)
        {
            return ApiProblems.Conflict("The session is still starting; stop it once it is ready.");
        }
        if (session.Status == SessionStatus.Ready)
        {
            await stops.BeginAsync(session);
        }
        var stopping = session with { Status = SessionStatus.Stopping };
        return TypedResults.Accepted($"/api/projects/{project.Id}/session", SessionResponse.From(stopping, user.UserId(), tokens, options.Value, time));
    }

    private static ProblemHttpResult NoSession() => ApiProblems.NotFound("The project has no live session.");
}

/// <summary>A session as the browser needs it: where the preview is and the token that opens it.</summary>
internal sealed record SessionResponse(string Id, string ProjectId, string Status, Uri PreviewUrl, string PreviewToken, DateTimeOffset ExpiresAt)
{
    public static SessionResponse From(SessionRecord session, string userId, PreviewTokens tokens, SessionOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().Add(options.PreviewTokenLifetime).ToUnixTimeSeconds());
        return new SessionResponse(session.SessionId, session.ProjectId, SessionRecord.StatusText(session.Status), options.PreviewUrlFor(session.SessionId),
            tokens.Issue(session.SessionId, userId, options.PreviewTokenLifetime), expiresAt);
    }
}
