using System.Security.Claims;

namespace StoryDream.Api.Auth;

internal static class ClaimsPrincipalExtensions
{
    /// <summary>The caller's user id (<c>sub</c>); authentication guarantees it is present and valid.</summary>
    public static string UserId(this ClaimsPrincipal principal) =>
        principal.FindFirstValue(ApiClaims.Subject) ?? throw new InvalidOperationException("The request is not authenticated.");
}
