using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using StoryDream.Kubernetes;

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

    /// <summary>Idle sessions stopped at once (each a final sync), beside the maintenance pass, so a slow pod delays no one else.</summary>
    [Range(1, 64)]
    public int MaxConcurrentStops { get; set; } = 4;

    /// <summary>An idle session whose stop failed this many times in a row is ended anyway, and the cause logged.</summary>
    [Range(1, 100)]
    public int MaxStopFailures { get; set; } = 5;

    /// <summary>Sessions one user may have at once (starting, ready or stopping), counted atomically in Redis.</summary>
    [Range(1, 1000)]
    public int MaxActiveSessionsPerUser { get; set; } = 3;

    /// <summary>New sessions (pods started) one user may start per <see cref="StartRateWindow"/>.</summary>
    [Range(1, 100_000)]
    public int StartsPerWindow { get; set; } = 20;

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan StartRateWindow { get; set; } = TimeSpan.FromHours(1);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The model proxy as pods reach it (the gateway's internal listener, e.g. <c>http://storydream-gateway-models:8081</c>).
    /// Set: pods get it as <c>ANTHROPIC_BASE_URL</c> with the session's token and run the Claude agent. Empty: the
    /// scripted agent, unless the configured pod environment names an agent.
    /// </summary>
    public string? ModelProxyUrl { get; set; }

    public LocalRuntimeOptions Local { get; set; } = new();

    /// <summary>The namespace session pods run in (the <c>kubernetes</c> runtime); the published RBAC and NetworkPolicies name it.</summary>
    [Required]
    public string Namespace { get; set; } = KubernetesNames.SessionsNamespace;

    /// <summary>The session pod image (the <c>kubernetes</c> runtime), pinned to a tag; the published ConfigMap sets it.</summary>
    public string? PodImage { get; set; }

    public KubernetesRuntimeOptions Kubernetes { get; set; } = new();

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
        if (!string.IsNullOrEmpty(ModelProxyUrl)
            && !(Uri.TryCreate(ModelProxyUrl, UriKind.Absolute, out var proxy) && proxy.Scheme is "http" or "https" && string.IsNullOrEmpty(proxy.Query)))
        {
            yield return new ValidationResult("Sessions:ModelProxyUrl must be an absolute http(s) URL.", [nameof(ModelProxyUrl)]);
        }
        foreach (var (section, environment) in new[] { ("Local", Local.Environment), ("Kubernetes", Kubernetes.Environment) })
        {
            foreach (var name in environment.Keys.Where(n => PodLaunch.ReservedVariables.Contains(n, StringComparer.OrdinalIgnoreCase)))
            {
                yield return new ValidationResult(
                    $"Sessions:{section}:Environment may not set {name}: the runtime sets it per session, and pods never hold the model key (they reach the model through Sessions:ModelProxyUrl).",
                    [$"{section}.Environment"]);
            }
        }
        if (Local.ReadyTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Sessions:Local:ReadyTimeout must be positive.", ["Local.ReadyTimeout"]);
        }
        if (Runtime == "kubernetes")
        {
            foreach (var result in Kubernetes.Validate(PodImage)) { yield return result; }
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

    /// <summary>
    /// The render pods' cache of bundles by snapshot id, shared by every render pod of this runtime; empty
    /// means <c>render-cache</c> in <see cref="StateDirectory"/>. Shared across projects only here: local pods are
    /// processes of one user that can already reach each other's files. The Kubernetes runtime shares none, as a render
    /// pod runs the project's code and must not be able to poison another project's build.
    /// </summary>
    public string? RenderCacheDirectory { get; set; }

    /// <summary>How long a pod may take to print its READY line.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Environment passed to every pod (for example <c>STORYDREAM_AGENT=scripted</c>); the pod inherits nothing else of the
    /// API's environment but PATH, HOME and the locale. The session's own variables (<see cref="PodLaunch"/>) are added.
    /// </summary>
    public Dictionary<string, string> Environment { get; set; } = [];
}

internal sealed partial class KubernetesRuntimeOptions
{
    /// <summary>
    /// The API server to use instead of the in-cluster one, without credentials: for example <c>kubectl proxy</c> on
    /// loopback. Empty means the pod's service account in a cluster, else the current kubeconfig context.
    /// </summary>
    public string? ApiServer { get; set; }

    /// <summary>How long a new pod may take to be scheduled, pull its image and pass its readiness probe.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// How long a pod may go without being Ready (since it was created, or since it last stopped being Ready) before it
    /// counts as dead: a start in progress or a readiness probe missed under load is not a dead pod.
    /// </summary>
    public TimeSpan NotReadyGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Environment added to every session pod, replacing the template's variable of the same name (for example
    /// <c>STORYDREAM_AGENT=scripted</c> on a cluster without an Anthropic key).
    /// </summary>
    public Dictionary<string, string> Environment { get; set; } = [];

    /// <summary>The sandbox runtime class of session pods (gVisor on GKE Sandbox); empty for the cluster's default runtime.</summary>
    public string? RuntimeClassName { get; set; } = SessionPlacement.Default.RuntimeClassName;

    /// <summary>The dedicated node pool: pods select and tolerate <c>storydream.dev/pool={NodePool}</c>; empty for any node.</summary>
    public string? NodePool { get; set; } = SessionPlacement.Default.NodePool;

    public IEnumerable<ValidationResult> Validate(string? podImage)
    {
        if (string.IsNullOrWhiteSpace(podImage))
        {
            yield return new ValidationResult("Sessions:PodImage is required by the kubernetes runtime: the session pod image, pinned to a tag.", ["PodImage"]);
        }
        if (!string.IsNullOrEmpty(ApiServer) && !(Uri.TryCreate(ApiServer, UriKind.Absolute, out var server) && server.Scheme is "http" or "https"))
        {
            yield return new ValidationResult("Sessions:Kubernetes:ApiServer must be an absolute http(s) URL.", ["Kubernetes.ApiServer"]);
        }
        if (ReadyTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Sessions:Kubernetes:ReadyTimeout must be positive.", ["Kubernetes.ReadyTimeout"]);
        }
        // A shorter grace would let a reconcile pass delete a pod that another replica is still waiting for.
        if (NotReadyGrace < ReadyTimeout)
        {
            yield return new ValidationResult("Sessions:Kubernetes:NotReadyGrace must be at least Sessions:Kubernetes:ReadyTimeout.", ["Kubernetes.NotReadyGrace"]);
        }
        foreach (var name in Environment.Keys.Where(name => !EnvironmentName().IsMatch(name)))
        {
            yield return new ValidationResult($"Sessions:Kubernetes:Environment has an invalid variable name '{name}'.", ["Kubernetes.Environment"]);
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvironmentName();
}
