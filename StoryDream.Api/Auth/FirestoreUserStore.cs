using StoryDream.GoogleCloud.Firestore;

namespace StoryDream.Api.Auth;

/// <summary><c>users/{userId}</c>: created on first sight, refreshed on later sign-ins.</summary>
internal sealed class FirestoreUserStore(FirestoreClient firestore) : IUserStore
{
    private const string DefaultPlan = "free";

    public async Task UpsertAsync(UserProfile profile, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var path = $"users/{profile.UserId}";
        try
        {
            await firestore.CreateAsync(path, new UserDocument(profile.Email, profile.DisplayName, DefaultPlan, now, now), cancellationToken);
        }
        catch (FirestoreException e) when (e.Status == FirestoreStatus.AlreadyExists)
        {
            // Only what the token says now; a claim the token lacks leaves the stored value alone.
            var fields = new Dictionary<string, object?> { ["lastLoginAt"] = now };
            if (profile.Email is not null) { fields["email"] = profile.Email; }
            if (profile.DisplayName is not null) { fields["displayName"] = profile.DisplayName; }
            await firestore.PatchAsync(path, fields, Precondition.MustExist, cancellationToken);
        }
    }

    internal sealed record UserDocument(string? Email, string? DisplayName, string Plan, DateTimeOffset CreatedAt, DateTimeOffset LastLoginAt);
}
