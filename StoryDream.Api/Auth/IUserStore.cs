namespace StoryDream.Api.Auth;

/// <summary>A signed-in person as their token describes them.</summary>
internal sealed record UserProfile(string UserId, string? Email, string? DisplayName);

internal interface IUserStore
{
    /// <summary>Creates <c>users/{userId}</c> on first sight (plan <c>free</c>), otherwise refreshes email, name and lastLoginAt.</summary>
    Task UpsertAsync(UserProfile profile, DateTimeOffset now, CancellationToken cancellationToken);
}
