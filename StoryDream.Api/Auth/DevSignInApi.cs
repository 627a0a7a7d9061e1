using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using StoryDream.Api.Http;

namespace StoryDream.Api.Auth;

public sealed record DevTokenRequest(string? UserId);

public sealed record DevTokenResponse(string AccessToken, string UserId, DateTimeOffset ExpiresAt);

/// <summary>
/// Development sign-in: a token for the dev user (or another made-up user) without pasting one. Answers only when the
/// app host enabled it (<see cref="AuthOptions.DevSignIn"/>); everywhere else it is refused, and production has no
/// signing key to mint with anyway.
/// </summary>
internal static class DevSignInApi
{
    public const string DevUserId = "dev-user";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    public static IEndpointRouteBuilder MapDevSignInApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/auth/dev-token", Mint).WithTags("Auth").AllowAnonymous();
        return app;
    }

    public static Results<Ok<DevTokenResponse>, ValidationProblem, ProblemHttpResult> Mint(
        DevTokenRequest? request, IOptions<AuthOptions> options, TimeProvider time)
    {
        var auth = options.Value;
        if (!auth.DevSignIn || string.IsNullOrWhiteSpace(auth.SigningKey))
        {
            return TypedResults.Problem("Development sign-in is not enabled on this server; sign in with its identity provider.",
                statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", type: ProblemTypes.Forbidden);
        }
        var userId = string.IsNullOrEmpty(request?.UserId) ? DevUserId : request.UserId;
        if (UserIds.Problem(userId) is { } problem) { return ApiProblems.Validation("userId", problem); }

        var now = time.GetUtcNow();
        var token = DevTokens.Mint(auth.SigningKey, auth.Issuer!, auth.Audience, userId,
            email: $"{userId}@storydream.localhost", name: userId == DevUserId ? "Dev User" : userId, lifetime: Lifetime, now: now);
        return TypedResults.Ok(new DevTokenResponse(token, userId, now + Lifetime));
    }
}
