namespace StoryDream.SessionGateway.Studio;

/// <summary>
/// The <c>Studio</c> section: where the built web app is, and the runtime config the app reads from <c>/config.json</c>
/// (so one build runs against any identity provider).
/// </summary>
internal sealed class StudioOptions
{
    public const string SectionName = "Studio";

    /// <summary>The folder of the built app (<c>web/dist</c>), relative to the content root or absolute.</summary>
    public string Root { get; set; } = "wwwroot";

    /// <summary>The OIDC authority the studio signs in with (authorization code + PKCE); empty with dev sign-in only.</summary>
    public string Authority { get; set; } = "";

    /// <summary>The studio's OIDC client id at <see cref="Authority"/>.</summary>
    public string ClientId { get; set; } = "";

    public string Scope { get; set; } = "openid profile email";

    /// <summary>Shows "Continue as dev user". The API must have <c>Auth:DevSignIn</c> too, or the button is refused.</summary>
    public bool DevSignIn { get; set; }
}

/// <summary>What <c>GET /config.json</c> answers.</summary>
internal sealed record StudioConfig(string? Authority, string? ClientId, string Scope, bool DevSignIn);
