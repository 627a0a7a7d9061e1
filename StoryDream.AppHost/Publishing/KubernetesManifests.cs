using Microsoft.Extensions.Hosting;
using System.Globalization;
using System.Reflection;
using k8s;
using k8s.Models;
using StoryDream.Kubernetes;
using StoryDream.ServiceDefaults;
using static StoryDream.Kubernetes.KubernetesNames;

namespace StoryDream.AppHost.Publishing;

/// <summary>
/// Typed Kubernetes objects for the app model (DESIGN section 7). Services come from the model's project
/// resources (<see cref="AppModelReader"/>); emulators are local stand-ins and have no counterpart in the cluster.
/// </summary>
internal static class KubernetesManifests
{
    public const string ConfigMapName = "storydream-config";
    public const string SecretName = "storydream-secrets";
    public const string TlsSecretName = "storydream-tls";
    public const string IngressClass = "nginx";
    public const string IngressNamespace = "ingress-nginx";
    public const int HttpPort = 8080;

    // The non-root "app" user of Microsoft's .NET images (APP_UID).
    private const long DotnetAppUserId = 1654;

    public static IReadOnlyList<V1Namespace> Namespaces() =>
    [
        Init(new V1Namespace { Metadata = Meta(ServicesNamespace, null, Labels("namespace")) }),
        // Session pods run user-directed code: the restricted Pod Security Standard is enforced on their namespace.
        Init(new V1Namespace
        {
            Metadata = Meta(SessionsNamespace, null, new Dictionary<string, string>(Labels("namespace"))
            {
                ["pod-security.kubernetes.io/enforce"] = "restricted",
                ["pod-security.kubernetes.io/enforce-version"] = "latest",
            }),
        }),
    ];

    public static V1ConfigMap Config(PublishSettings settings) => Init(new V1ConfigMap
    {
        Metadata = Meta(ConfigMapName, ServicesNamespace, Labels("config")),
        Data = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["GoogleCloud__ProjectId"] = settings.GoogleProjectId,
            // Firebase Auth (or any OIDC provider): keys come from the authority, so no signing key is configured.
            ["Auth__Authority"] = $"https://securetoken.google.com/{settings.GoogleProjectId}",
            ["Auth__Issuer"] = $"https://securetoken.google.com/{settings.GoogleProjectId}",
            ["Auth__Audience"] = settings.GoogleProjectId,
            ["Sessions__Runtime"] = "kubernetes",
            ["Sessions__Namespace"] = SessionsNamespace,
            ["Sessions__PodImage"] = settings.Image(SessionPodName),
            // The preview links the API hands out, and the host suffix the gateway routes on: one wildcard domain.
            ["Sessions__PublicPreviewUrl"] = $"https://{{sessionId}}.{settings.PreviewDomain}/",
            ["Gateway__PreviewDomain"] = settings.PreviewDomain,
            // The gateway's internal model proxy (DESIGN section 8): pods get its URL and their session's token, never the key.
            ["ModelProxy__Port"] = SessionIsolation.ModelProxyPort.ToString(CultureInfo.InvariantCulture),
            ["Sessions__ModelProxyUrl"] = SessionIsolation.ModelProxyUrl,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = settings.OtlpEndpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        },
    });

    public static V1ServiceAccount ServiceAccount(PublishedService project, PublishSettings settings) => Init(new V1ServiceAccount
    {
        Metadata = Meta(project.Name, ServicesNamespace, Labels(project.Name), new Dictionary<string, string>
        {
            // GKE Workload Identity: the pod's Google identity, so no key file is ever mounted.
            ["iam.gke.io/gcp-service-account"] = $"{project.Name}@{settings.GoogleProjectId}.iam.gserviceaccount.com",
        }),
        // Only the API talks to the Kubernetes API (to manage session pods); the others get no token at all.
        AutomountServiceAccountToken = project.Name == ApiServiceAccount,
    });

    public static V1Deployment Deployment(PublishedService project, PublishSettings settings)
    {
        var labels = Labels(project.Name);
        var sizing = settings.Sizing[project.Name];
        return Init(new V1Deployment
        {
            Metadata = Meta(project.Name, ServicesNamespace, labels),
            Spec = new V1DeploymentSpec
            {
                // No replicas: the HPA owns the count, and applying the manifest must not reset it.
                Selector = new V1LabelSelector { MatchLabels = Selector(project.Name) },
                Strategy = new V1DeploymentStrategy
                {
                    Type = "RollingUpdate",
                    RollingUpdate = new V1RollingUpdateDeployment { MaxSurge = "25%", MaxUnavailable = 0 },
                },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        ServiceAccountName = project.Name,
                        AutomountServiceAccountToken = project.Name == ApiServiceAccount,
                        EnableServiceLinks = false,
                        // The gateway holds preview WebSockets open; give them time to finish before the pod goes.
                        TerminationGracePeriodSeconds = project.Name == ResourceNames.Gateway ? 60 : 30,
                        SecurityContext = new V1PodSecurityContext
                        {
                            RunAsNonRoot = true,
                            RunAsUser = DotnetAppUserId,
                            RunAsGroup = DotnetAppUserId,
                            FsGroup = DotnetAppUserId,
                            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                        },
                        TopologySpreadConstraints =
                        [
                            new V1TopologySpreadConstraint
                            {
                                MaxSkew = 1,
                                TopologyKey = "topology.kubernetes.io/zone",
                                WhenUnsatisfiable = "ScheduleAnyway",
                                LabelSelector = new V1LabelSelector { MatchLabels = Selector(project.Name) },
                            },
                        ],
                        Containers =
                        [
                            new V1Container
                            {
                                Name = project.Name,
                                Image = settings.Image(project.Name),
                                Ports = project.Name == ResourceNames.Gateway
                                    ? [new V1ContainerPort { Name = "http", ContainerPort = HttpPort }, new V1ContainerPort { Name = "models", ContainerPort = SessionIsolation.ModelProxyPort }]
                                    : [new V1ContainerPort { Name = "http", ContainerPort = HttpPort }],
                                EnvFrom = [new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = ConfigMapName } }],
                                Env = Environment(project, settings),
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = Quantities(("cpu", sizing.CpuRequest), ("memory", sizing.MemoryRequest)),
                                    Limits = Quantities(("cpu", sizing.CpuLimit), ("memory", sizing.MemoryLimit)),
                                },
                                StartupProbe = Probe(ServiceDefaultsExtensions.AlivenessEndpointPath, periodSeconds: 2, failureThreshold: 30),
                                ReadinessProbe = Probe(ServiceDefaultsExtensions.HealthEndpointPath, periodSeconds: 5, failureThreshold: 3),
                                LivenessProbe = Probe(ServiceDefaultsExtensions.AlivenessEndpointPath, periodSeconds: 10, failureThreshold: 3),
                                SecurityContext = new V1SecurityContext
                                {
                                    AllowPrivilegeEscalation = false,
                                    ReadOnlyRootFilesystem = true,
                                    Capabilities = new V1Capabilities { Drop = ["ALL"] },
                                },
                                VolumeMounts = [new V1VolumeMount { Name = "tmp", MountPath = "/tmp" }],
                            },
                        ],
                        Volumes = [new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = new ResourceQuantity("256Mi") } }],
                    },
                },
            },
        });
    }

    public static V1Service Service(PublishedService project) => Init(new V1Service
    {
        Metadata = Meta(project.Name, ServicesNamespace, Labels(project.Name)),
        Spec = new V1ServiceSpec
        {
            Selector = Selector(project.Name),
            Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = "http" }],
        },
    });

    /// <summary>The model proxy's Service: session pods reach it by this name; the Ingress never routes to it.</summary>
    public static V1Service ModelProxyService() => Init(new V1Service
    {
        Metadata = Meta(SessionIsolation.ModelProxyServiceName, ServicesNamespace, Labels(ResourceNames.Gateway)),
        Spec = new V1ServiceSpec
        {
            Selector = Selector(ResourceNames.Gateway),
            Ports = [new V1ServicePort { Name = "models", Port = SessionIsolation.ModelProxyPort, TargetPort = "models" }],
        },
    });

    public static V2HorizontalPodAutoscaler Autoscaler(PublishedService project, PublishSettings settings) => Init(new V2HorizontalPodAutoscaler
    {
        Metadata = Meta(project.Name, ServicesNamespace, Labels(project.Name)),
        Spec = new V2HorizontalPodAutoscalerSpec
        {
            ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = project.Name },
            MinReplicas = settings.Sizing[project.Name].MinReplicas,
            MaxReplicas = settings.Sizing[project.Name].MaxReplicas,
            Metrics =
            [
                new V2MetricSpec
                {
                    Type = "Resource",
                    Resource = new V2ResourceMetricSource
                    {
                        Name = "cpu",
                        Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = 70 },
                    },
                },
            ],
        },
    });

    public static V1PodDisruptionBudget DisruptionBudget(PublishedService project) => Init(new V1PodDisruptionBudget
    {
        Metadata = Meta(project.Name, ServicesNamespace, Labels(project.Name)),
        Spec = new V1PodDisruptionBudgetSpec { MinAvailable = 1, Selector = new V1LabelSelector { MatchLabels = Selector(project.Name) } },
    });

    /// <summary>Public entry: the API host and the wildcard preview host, both through the gateway (it routes <c>/api/**</c>).</summary>
    public static V1Ingress Ingress(PublishSettings settings)
    {
        var backend = new V1IngressBackend { Service = new V1IngressServiceBackend { Name = ResourceNames.Gateway, Port = new V1ServiceBackendPort { Name = "http" } } };
        V1IngressRule Rule(string host) => new()
        {
            Host = host,
            Http = new V1HTTPIngressRuleValue { Paths = [new V1HTTPIngressPath { Path = "/", PathType = "Prefix", Backend = backend }] },
        };
        return Init(new V1Ingress
        {
            Metadata = Meta(ResourceNames.Gateway, ServicesNamespace, Labels(ResourceNames.Gateway), new Dictionary<string, string>
            {
                // Chat and HMR are WebSockets that sit idle for minutes; nginx's 60 s default would cut them.
                ["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "3600",
                ["nginx.ingress.kubernetes.io/proxy-send-timeout"] = "3600",
                ["nginx.ingress.kubernetes.io/proxy-body-size"] = "64m",
                ["nginx.ingress.kubernetes.io/ssl-redirect"] = "true",
            }),
            Spec = new V1IngressSpec
            {
                IngressClassName = IngressClass,
                Tls = [new V1IngressTLS { Hosts = [settings.ApiHost, $"*.{settings.PreviewDomain}"], SecretName = TlsSecretName }],
                Rules = [Rule(settings.ApiHost), Rule($"*.{settings.PreviewDomain}")],
            },
        });
    }

    public static V1PodTemplate SessionPod(PublishSettings settings)
    {
        var template = SessionPodTemplate.Create(settings.Image(SessionPodName));
        return Init(new V1PodTemplate
        {
            Metadata = Meta(SessionPodName, SessionsNamespace, SessionPodTemplate.Labels()),
            Template = template,
        });
    }

    /// <summary>The API's service account may manage pods in the sessions namespace, and nothing else anywhere.</summary>
    public static (V1Role Role, V1RoleBinding Binding) SessionPodAccess() =>
    (
        Init(new V1Role
        {
            Metadata = Meta("session-pod-manager", SessionsNamespace, Labels(ResourceNames.Api)),
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["pods"], Verbs = ["create", "delete", "get", "list", "watch"] }],
        }),
        Init(new V1RoleBinding
        {
            Metadata = Meta("session-pod-manager", SessionsNamespace, Labels(ResourceNames.Api)),
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "session-pod-manager" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = ApiServiceAccount, NamespaceProperty = ServicesNamespace }],
        })
    );

    public static IReadOnlyList<V1NetworkPolicy> NetworkPolicies()
    {
        return
        [
            Policy("default-deny", ServicesNamespace, new V1LabelSelector(), ["Ingress"], ingress: null, egress: null),
            Policy("gateway-from-ingress", ServicesNamespace, new V1LabelSelector { MatchLabels = Selector(ResourceNames.Gateway) }, ["Ingress"],
                ingress: [new V1NetworkPolicyIngressRule
                {
                    FromProperty = [new V1NetworkPolicyPeer { NamespaceSelector = NamespaceSelector(IngressNamespace) }],
                    Ports = [TcpPort(HttpPort)],
                }],
                egress: null),
            Policy("api-from-gateway", ServicesNamespace, new V1LabelSelector { MatchLabels = Selector(ResourceNames.Api) }, ["Ingress"],
                ingress: [new V1NetworkPolicyIngressRule
                {
                    FromProperty = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = Selector(ResourceNames.Gateway) } }],
                    Ports = [TcpPort(HttpPort)],
                }],
                egress: null),
            Policy("default-deny", SessionsNamespace, new V1LabelSelector(), ["Ingress", "Egress"], ingress: null, egress: null),
            .. SessionIsolation.NetworkPolicies(),
        ];
    }

    // What every service gets in the cluster, then what the app model gives it (references, parameters, settings).
    private static List<V1EnvVar> Environment(PublishedService project, PublishSettings settings) =>
    [
        new() { Name = "OTEL_SERVICE_NAME", Value = project.Name },
        new() { Name = "ASPNETCORE_HTTP_PORTS", Value = HttpPort.ToString(CultureInfo.InvariantCulture) },
        .. KnownProxies(project.Name, settings),
        .. project.Environment,
        // The platform's model key: only the gateway's model proxy holds it (DESIGN section 8).
        .. project.Name == ResourceNames.Gateway ? [SecretVariable("ModelProxy__ApiKey", "anthropic-api-key")] : Array.Empty<V1EnvVar>(),
    ];

    // Who may tell a service the client's address (X-Forwarded-For): the gateway hears it from the ingress, the API from the gateway.
    private static V1EnvVar[] KnownProxies(string service, PublishSettings settings) => service switch
    {
        ResourceNames.Gateway => [new() { Name = "ForwardedHeaders__KnownProxies", Value = settings.IngressNetwork }],
        ResourceNames.Api => [new() { Name = "ForwardedHeaders__KnownProxies", Value = settings.GatewayNetwork }],
        _ => [],
    };

    /// <summary>A variable read from the cluster's secret (never shipped in the manifests).</summary>
    public static V1EnvVar SecretVariable(string name, string key) =>
        new() { Name = name, ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = SecretName, Key = key } } };

    private static V1NetworkPolicy Policy(string name, string ns, V1LabelSelector podSelector, IList<string> types,
        IList<V1NetworkPolicyIngressRule>? ingress, IList<V1NetworkPolicyEgressRule>? egress) => Init(new V1NetworkPolicy
        {
            Metadata = Meta(name, ns, Labels("network-policy")),
            Spec = new V1NetworkPolicySpec { PodSelector = podSelector, PolicyTypes = types, Ingress = ingress, Egress = egress },
        });

    private static V1LabelSelector NamespaceSelector(string ns) =>
        new() { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns } };

    private static V1NetworkPolicyPort TcpPort(int port) => new() { Protocol = "TCP", Port = port };

    private static V1Probe Probe(string path, int periodSeconds, int failureThreshold) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = path, Port = "http" },
        PeriodSeconds = periodSeconds,
        FailureThreshold = failureThreshold,
        TimeoutSeconds = 2,
    };

    private static Dictionary<string, ResourceQuantity> Quantities(params (string Name, string Value)[] values) =>
        values.ToDictionary(v => v.Name, v => new ResourceQuantity(v.Value));

    private static Dictionary<string, string> Selector(string name) => new() { [NameLabel] = name };

    private static Dictionary<string, string> Labels(string name) => new()
    {
        [NameLabel] = name,
        [PartOfLabel] = PartOf,
    };

    private static V1ObjectMeta Meta(string name, string? ns, IDictionary<string, string> labels, IDictionary<string, string>? annotations = null) =>
        new() { Name = name, NamespaceProperty = ns, Labels = labels, Annotations = annotations };

    /// <summary>Sets apiVersion and kind from the model type's own metadata.</summary>
    private static T Init<T>(T value) where T : IKubernetesObject
    {
        var entity = typeof(T).GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new InvalidOperationException($"{typeof(T).Name} is not a Kubernetes entity.");
        value.ApiVersion = string.IsNullOrEmpty(entity.Group) ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}";
        value.Kind = entity.Kind;
        return value;
    }
}
