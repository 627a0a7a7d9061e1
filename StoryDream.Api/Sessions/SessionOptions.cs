using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Sessions;

internal sealed class SessionOptions : IValidatableObject
{
    public const string SectionName = "Sessions";
    private const string SessionIdPlaceholder = "{sessionId}";

    /// <summary><c>local</c> or <c>kubernetes</c>.</summary>
    [Required]
    [RegularExpression("^(local|kubernetes)$", ErrorMessage = "Sessions:Runtime must be 'local' or 'kubernetes'.")]
    public string Runtime { get; set; } = "local";

    /// <summary>Base64 HMAC key shared with the gateway for preview tokens.</summary>
    [Required(ErrorMessage = "Sessions:PreviewTokenKey is required: a base64 key of at least 32 random bytes, shared with the gateway.")]
    public string PreviewTokenKey { get; set; } = "";

    /// <summary>
    /// The browser-facing preview URL; <c>{sessionId}</c> is replaced. Host-based (<c>http://{sessionId}.preview.host/</c>)
    /// or path-based (<c>http://host/preview/{sessionId}/</c>); the path becomes the pod's Vite base.
    /// </summary>
    [Required]
    public string PublicPreviewUrl { get; set; } = "http://{sessionId}.preview.localhost:8080/";

    [Range(typeof(TimeSpan), "00:00:30", "1.00:00:00")]
    public TimeSpan PreviewTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a start may take (pod up and hydrated); a start older than this is abandoned and may be taken over.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the final sync of a stop may take.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan StopSyncTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the sync after an agent turn may take before the turn gives up waiting for its snapshot.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan TurnSyncTimeout { get; set; } = TimeSpan.FromMinutes(2);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(2);

    public LocalRuntimeOptions Local { get; set; } = new();

    public Uri PreviewUrlFor(string sessionId) => new(PublicPreviewUrl.Replace(SessionIdPlaceholder, sessionId, StringComparison.Ordinal));

    /// <summary>The URL path the pod's preview is served under, <c>/</c> for host-based preview URLs.</summary>
    public string PreviewBasePath(string sessionId) => PreviewUrlFor(sessionId).AbsolutePath;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var sample = PublicPreviewUrl.Replace(SessionIdPlaceholder, Guid.Empty.ToString("D"), StringComparison.Ordinal);
        if (!PublicPreviewUrl.Contains(SessionIdPlaceholder, StringComparison.Ordinal)
            || !Uri.TryCreate(sample, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")
            || !string.IsNullOrEmpty(url.Query) || !url.AbsolutePath.EndsWith('/'))
        {
            yield return new ValidationResult(
                "Sessions:PublicPreviewUrl must be an absolute http(s) URL ending in '/' with a {sessionId} placeholder in the host or the path.",
                [nameof(PublicPreviewUrl)]);
        }
        if (Local.ReadyTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Sessions:Local:ReadyTimeout must be positive.", ["Local.ReadyTimeout"]);
        }
    }
}

internal sealed class LocalRuntimeOptions
{
    /// <summary>The Node executable that runs the pod.</summary>
    [Required]
    public string NodePath { get; set; } = "node";

    /// <summary>The pod's compiled entry point; empty means <c>session-pod/dist/src/main.js</c> found above the app's folder.</summary>
    public string? PodEntry { get; set; }

    /// <summary>Where session workspaces and the runtime's state files live; empty means <c>.dev/sessions</c> at the repository root.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>How long a pod may take to print its READY line.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Environment passed to every pod (for example <c>STORYDREAM_AGENT=scripted</c> or <c>ANTHROPIC_API_KEY</c>); the pod
    /// inherits nothing else of the API's environment but PATH, HOME and the locale.
    /// </summary>
    public Dictionary<string, string> Environment { get; set; } = [];
}
