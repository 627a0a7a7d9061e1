namespace StoryDream.Kubernetes;

/// <summary>
/// Names the published manifests and the Kubernetes session runtime must agree on: a pod the runtime creates
/// is only reachable, schedulable and deletable if it lands in these namespaces with these labels.
/// </summary>
public static class KubernetesNames
{
    public const string ServicesNamespace = "storydream";
    public const string SessionsNamespace = "storydream-sessions";

    public const string NameLabel = "app.kubernetes.io/name";
    public const string PartOfLabel = "app.kubernetes.io/part-of";
    public const string ComponentLabel = "app.kubernetes.io/component";
    public const string PartOf = "storydream";

    public const string SessionPodName = "session-pod";
    public const string SessionIdLabel = "storydream.dev/session-id";
    public const string ProjectIdLabel = "storydream.dev/project-id";
    public const string RenderIdLabel = "storydream.dev/render-id";

    /// <summary>The ServiceAccount the API runs as; the only subject allowed to manage session pods.</summary>
    public const string ApiServiceAccount = "api";
}
