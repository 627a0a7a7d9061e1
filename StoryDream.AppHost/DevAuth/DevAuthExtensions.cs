namespace StoryDream.AppHost.DevAuth;

/// <summary>The dev keys as secret Aspire parameters, generated on the first run in the dev folder and reused after.</summary>
internal sealed record DevAuthParameters(
    DevCredentialsSource Credentials,
    IResourceBuilder<ParameterResource> SigningKey,
    IResourceBuilder<ParameterResource> PreviewTokenKey);

internal static class DevAuthExtensions
{
    public const string SigningKeyParameter = "auth-signing-key";
    public const string PreviewTokenKeyParameter = "preview-token-key";

    public static DevAuthParameters AddDevAuth(this IDistributedApplicationBuilder builder, string devDirectory)
    {
        var credentials = new DevCredentialsSource(devDirectory);
        return new DevAuthParameters(
            credentials,
            builder.AddParameter(SigningKeyParameter, () => credentials.Value.SigningKey, secret: true),
            builder.AddParameter(PreviewTokenKeyParameter, () => credentials.Value.PreviewTokenKey, secret: true));
    }

    /// <summary>
    /// The API's auth contract: locally the dev issuer, audience and HMAC key its tokens are signed with; in a cluster
    /// the published config names an OIDC authority instead, so only the preview token key goes there.
    /// </summary>
    public static IResourceBuilder<T> WithDevAuth<T>(this IResourceBuilder<T> builder, DevAuthParameters auth) where T : IResourceWithEnvironment
    {
        if (builder.ApplicationBuilder.ExecutionContext.IsRunMode)
        {
            builder
                .WithEnvironment("Auth__Issuer", DevCredentials.Issuer)
                .WithEnvironment("Auth__Audience", DevCredentials.Audience)
                .WithEnvironment("Auth__SigningKey", auth.SigningKey)
                // The studio's "Continue as dev user" asks the API for a token signed with that key.
                .WithEnvironment("Auth__DevSignIn", "true");
        }
        return builder.WithPreviewTokenKey(auth);
    }

    public static IResourceBuilder<T> WithPreviewTokenKey<T>(this IResourceBuilder<T> builder, DevAuthParameters auth) where T : IResourceWithEnvironment =>
        builder.WithEnvironment("Sessions__PreviewTokenKey", auth.PreviewTokenKey);
}
