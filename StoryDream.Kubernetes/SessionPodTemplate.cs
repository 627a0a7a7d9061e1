using k8s.Models;

namespace StoryDream.Kubernetes;

/// <summary>
/// The one definition of a session pod (DESIGN section 5). The app host publishes it as a PodTemplate, and the
/// Kubernetes session runtime builds each session's pod from it, so the two cannot drift apart.
/// </summary>
public static class SessionPodTemplate
{
    public const int PreviewPort = 3000;
    public const int AgentPort = 3001;
    public const int FilesPort = 3002;
    public const int RenderPort = 3003;

    // The node user of the official Node images; the pod runs as it, never as root.
    private const long NodeUserId = 1000;
    private const string WorkspacePath = "/workspace";
    private const string HomePath = "/home/node";

    /// <summary>The pod template spec, labelled as a session pod but for no session in particular.</summary>
    public static V1PodTemplateSpec Create(string image, SessionPlacement? placement = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(image);
        var template = CreateUnplaced(image);
        (placement ?? SessionPlacement.Default).Apply(template.Spec);
        return template;
    }

    private static V1PodTemplateSpec CreateUnplaced(string image)
    {
        return new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = Labels() },
            Spec = new V1PodSpec
            {
                // The runtime replaces a dead pod itself (after a checkpoint sync); the kubelet must not restart it behind its back.
                RestartPolicy = "Never",
                // The pod holds no cloud credentials and never talks to the Kubernetes API.
                AutomountServiceAccountToken = false,
                EnableServiceLinks = false,
                TerminationGracePeriodSeconds = 30,
                SecurityContext = new V1PodSecurityContext
                {
                    RunAsNonRoot = true,
                    RunAsUser = NodeUserId,
                    RunAsGroup = NodeUserId,
                    FsGroup = NodeUserId,
                    SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                },
                Containers =
                [
                    new V1Container
                    {
                        Name = KubernetesNames.SessionPodName,
                        Image = image,
                        Ports =
                        [
                            new V1ContainerPort { Name = "preview", ContainerPort = PreviewPort },
                            new V1ContainerPort { Name = "agent", ContainerPort = AgentPort },
                            new V1ContainerPort { Name = "files", ContainerPort = FilesPort },
                        ],
                        Env =
                        [
                            new V1EnvVar { Name = "BIND_HOST", Value = "0.0.0.0" },
                            new V1EnvVar { Name = "WORKSPACE_DIR", Value = WorkspacePath },
                            new V1EnvVar { Name = "HOME", Value = HomePath },
                            new V1EnvVar { Name = "PREVIEW_PORT", Value = PreviewPort.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                            new V1EnvVar { Name = "AGENT_PORT", Value = AgentPort.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                            new V1EnvVar { Name = "FILES_PORT", Value = FilesPort.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                            // No model key, ever (DESIGN section 8): the runtime adds the session's identity, pod secret,
                            // and the model proxy's URL with the session's token.
                        ],
                        Resources = new V1ResourceRequirements
                        {
                            Requests = Quantities(("memory", "512Mi"), ("cpu", "250m"), ("ephemeral-storage", "1Gi")),
                            Limits = Quantities(("memory", "2Gi"), ("cpu", "1"), ("ephemeral-storage", "4Gi")),
                        },
                        SecurityContext = new V1SecurityContext
                        {
                            AllowPrivilegeEscalation = false,
                            // Writable places are the emptyDirs below; Vite's cache and the agent's state live under them.
                            ReadOnlyRootFilesystem = true,
                            Capabilities = new V1Capabilities { Drop = ["ALL"] },
                        },
                        ReadinessProbe = HttpProbe(FilesPort, periodSeconds: 2, failureThreshold: 3),
                        LivenessProbe = HttpProbe(FilesPort, periodSeconds: 10, failureThreshold: 6),
                        VolumeMounts =
                        [
                            new V1VolumeMount { Name = "workspace", MountPath = WorkspacePath },
                            new V1VolumeMount { Name = "home", MountPath = HomePath },
                            new V1VolumeMount { Name = "tmp", MountPath = "/tmp" },
                        ],
                    },
                ],
                Volumes =
                [
                    new V1Volume { Name = "workspace", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity("2Gi") } },
                    new V1Volume { Name = "home", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity("1Gi") } },
                    new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity("1Gi") } },
                ],
            },
        };
    }

    /// <summary>The pod for one session, in the sessions namespace, labelled with its session and project.</summary>
    public static V1Pod ForSession(string image, string sessionId, string projectId, SessionPlacement? placement = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sessionId);
        ArgumentException.ThrowIfNullOrWhiteSpace(projectId);
        if (!IsLabelValue(sessionId) || !IsLabelValue(projectId))
        {
            throw new ArgumentException($"Session and project ids must be valid Kubernetes label values (got '{sessionId}', '{projectId}').");
        }

        var template = Create(image, placement);
        template.Metadata.Name = PodName(sessionId);
        template.Metadata.NamespaceProperty = KubernetesNames.SessionsNamespace;
        template.Metadata.Labels[KubernetesNames.SessionIdLabel] = sessionId;
        template.Metadata.Labels[KubernetesNames.ProjectIdLabel] = projectId;
        return new V1Pod { ApiVersion = "v1", Kind = "Pod", Metadata = template.Metadata, Spec = template.Spec };
    }

    public static string PodName(string sessionId) => $"session-{sessionId}";

    public static string RenderPodName(string renderId) => $"render-{renderId}";

    /// <summary>
    /// A render pod: the session pod's image and hardening in render mode (file API and render API only, no agent, so
    /// no model key), with the resources a 1080p render needs (about 2.2 GB at peak: chromium, ffmpeg and node), like the
    /// one pod of a Kubernetes Job (restart policy Never; the platform retries, not the kubelet).
    /// </summary>
    /// <remarks>A warm pod, started before a render has taken it, has no project (<paramref name="projectId"/> null) and no project label.</remarks>
    public static V1Pod ForRender(string image, string renderId, string? projectId, SessionPlacement? placement = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(renderId);
        if (!IsLabelValue(renderId) || projectId is not null && !IsLabelValue(projectId))
        {
            throw new ArgumentException($"Render and project ids must be valid Kubernetes label values (got '{renderId}', '{projectId}').");
        }
        // A render runs the project's code in chromium: the same sandboxed nodes as sessions.
        var template = Create(image, placement);
        template.Metadata.Name = RenderPodName(renderId);
        template.Metadata.NamespaceProperty = KubernetesNames.SessionsNamespace;
        template.Metadata.Labels[KubernetesNames.ComponentLabel] = "render";
        template.Metadata.Labels[KubernetesNames.RenderIdLabel] = renderId;
        if (projectId is not null) { template.Metadata.Labels[KubernetesNames.ProjectIdLabel] = projectId; }
        var container = template.Spec.Containers.Single();
        container.Ports = [new V1ContainerPort { Name = "files", ContainerPort = FilesPort }, new V1ContainerPort { Name = "render", ContainerPort = RenderPort }];
        container.Env =
        [
            .. container.Env.Where(v => v.Name is "BIND_HOST" or "WORKSPACE_DIR" or "HOME" or "FILES_PORT"),
            new V1EnvVar { Name = "STORYDREAM_MODE", Value = "render" },
            new V1EnvVar { Name = "RENDER_PORT", Value = RenderPort.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        ];
        container.Resources = new V1ResourceRequirements
        {
            Requests = Quantities(("memory", "2560Mi"), ("cpu", "1"), ("ephemeral-storage", "2Gi")),
            Limits = Quantities(("memory", "3Gi"), ("cpu", "2"), ("ephemeral-storage", "6Gi")),
        };
        container.ReadinessProbe = HttpProbe(RenderPort, periodSeconds: 2, failureThreshold: 3);
        container.LivenessProbe = HttpProbe(RenderPort, periodSeconds: 10, failureThreshold: 6);
        return new V1Pod { ApiVersion = "v1", Kind = "Pod", Metadata = template.Metadata, Spec = template.Spec };
    }

    public static Dictionary<string, string> Labels() => new()
    {
        [KubernetesNames.NameLabel] = KubernetesNames.SessionPodName,
        [KubernetesNames.PartOfLabel] = KubernetesNames.PartOf,
        [KubernetesNames.ComponentLabel] = "session",
    };

    private static V1Probe HttpProbe(int port, int periodSeconds, int failureThreshold) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = "/health", Port = port },
        PeriodSeconds = periodSeconds,
        FailureThreshold = failureThreshold,
        TimeoutSeconds = 2,
    };

    private static Dictionary<string, ResourceQuantity> Quantities(params (string Name, string Value)[] values) =>
        values.ToDictionary(v => v.Name, v => new ResourceQuantity(v.Value));

    // Label values: at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric. UUIDs qualify.
    private static bool IsLabelValue(string value) =>
        value.Length <= 63
        && char.IsAsciiLetterOrDigit(value[0]) && char.IsAsciiLetterOrDigit(value[^1])
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
