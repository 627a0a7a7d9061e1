using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Sessions;

internal sealed class SessionOptions
{
    public const string SectionName = "Sessions";

    /// <summary><c>local</c> or <c>kubernetes</c>.</summary>
    [Required]
    [RegularExpression("^(local|kubernetes)$", ErrorMessage = "Sessions:Runtime must be 'local' or 'kubernetes'.")]
    public string Runtime { get; set; } = "local";

    /// <summary>Base64 HMAC key shared with the gateway for preview tokens.</summary>
    [Required(ErrorMessage = "Sessions:PreviewTokenKey is required: a base64 key of at least 32 random bytes, shared with the gateway.")]
    public string PreviewTokenKey { get; set; } = "";

    /// <summary>The browser-facing preview URL; <c>{sessionId}</c> is replaced.</summary>
    [Required]
    public string PublicPreviewUrl { get; set; } = "http://{sessionId}.preview.localhost:8080/";

    [Range(typeof(TimeSpan), "00:00:30", "1.00:00:00")]
    public TimeSpan PreviewTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a start may take (pod up and hydrated) before it is abandoned and another start may take over.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the final sync of a stop may take.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan StopSyncTimeout { get; set; } = TimeSpan.FromMinutes(2);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(2);

    public LocalRuntimeOptions Local { get; set; } = new();
}

internal sealed class LocalRuntimeOptions
{
    /// <summary>The Node executable that runs the pod.</summary>
    [Required]
    public string NodePath { get; set; } = "node";

    /// <summary>The pod's compiled entry point; empty means <c>session-pod/dist/main.js</c> found above the app's folder.</summary>
    public string? PodEntry { get; set; }

    /// <summary>Where session workspaces and the runtime's state files live; empty means <c>.dev/sessions</c> at the repository root.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>Environment passed to every pod (for example <c>STORYDREAM_AGENT=scripted</c>).</summary>
    public Dictionary<string, string> Environment { get; set; } = [];
}
