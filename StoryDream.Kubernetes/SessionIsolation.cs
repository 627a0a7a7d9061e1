using k8s.Models;
using static StoryDream.Kubernetes.KubernetesNames;

namespace StoryDream.Kubernetes;

/// <summary>
/// Where session pods run and what they may reach (DESIGN section 8): a sandboxed runtime class on a dedicated, tainted
/// node pool, egress to DNS and the model proxy only, ingress from each platform service on its own port only, and a
/// quota and limits over the sessions namespace. Shared by the publisher and the Kubernetes session runtime.
/// </summary>
public sealed record SessionPlacement(string? RuntimeClassName, string? NodePool)
{
    public const string NodePoolLabel = "storydream.dev/pool";

    /// <summary>GKE Sandbox's gVisor runtime class on the <c>sessions</c> node pool (labelled and tainted <c>storydream.dev/pool=sessions</c>).</summary>
    public static SessionPlacement Default { get; } = new("gvisor", "sessions");

    public void Apply(V1PodSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.RuntimeClassName = string.IsNullOrEmpty(RuntimeClassName) ? null : RuntimeClassName;
        if (string.IsNullOrEmpty(NodePool))
        {
            spec.NodeSelector = null;
            spec.Tolerations = null;
            return;
        }
        spec.NodeSelector = new Dictionary<string, string> { [NodePoolLabel] = NodePool };
        spec.Tolerations = [new V1Toleration { Key = NodePoolLabel, OperatorProperty = "Equal", Value = NodePool, Effect = "NoSchedule" }];
    }
}

public static class SessionIsolation
{
    /// <summary>The gateway's internal model proxy port; never behind the Ingress.</summary>
    public const int ModelProxyPort = 8081;
    public const string ModelProxyServiceName = "gateway-models";
    public const string GatewayName = "gateway";
    public const string ApiName = "api";
    public const string SyncWorkerName = "syncworker";

    public static string ModelProxyUrl => $"http://{ModelProxyServiceName}.{ServicesNamespace}.svc.cluster.local:{ModelProxyPort}";

    /// <summary>
    /// Session pods: ingress per port from the one service that uses it (gateway :3000, API :3001, sync worker :3002, and
    /// the API's export worker on a render pod's :3003);
    /// egress to kube-dns and the gateway's model proxy port, nothing else (no internet, no metadata server). And the
    /// gateway's model proxy port admits session pods only.
    /// </summary>
    public static IReadOnlyList<V1NetworkPolicy> NetworkPolicies()
    {
        var sessionPods = new V1LabelSelector { MatchLabels = SessionPodSelector() };
        return
        [
            Policy("session-pods-ingress", SessionsNamespace, sessionPods, ["Ingress"],
                ingress:
                [
                    From(GatewayName, SessionPodTemplate.PreviewPort),
                    From(ApiName, SessionPodTemplate.AgentPort),
                    From(SyncWorkerName, SessionPodTemplate.FilesPort),
                    From(ApiName, SessionPodTemplate.RenderPort),
                ],
                egress: null),
            Policy("session-pods-egress", SessionsNamespace, sessionPods, ["Egress"],
                ingress: null,
                egress:
                [
                    new V1NetworkPolicyEgressRule
                    {
                        To = [new V1NetworkPolicyPeer { NamespaceSelector = Namespace("kube-system"), PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["k8s-app"] = "kube-dns" } } }],
                        Ports = [new V1NetworkPolicyPort { Protocol = "UDP", Port = 53 }, Tcp(53)],
                    },
                    new V1NetworkPolicyEgressRule
                    {
                        To = [new V1NetworkPolicyPeer { NamespaceSelector = Namespace(ServicesNamespace), PodSelector = new V1LabelSelector { MatchLabels = Service(GatewayName) } }],
                        Ports = [Tcp(ModelProxyPort)],
                    },
                ]),
            Policy("gateway-models-from-session-pods", ServicesNamespace, new V1LabelSelector { MatchLabels = Service(GatewayName) }, ["Ingress"],
                ingress:
                [
                    new V1NetworkPolicyIngressRule
                    {
                        FromProperty = [new V1NetworkPolicyPeer { NamespaceSelector = Namespace(SessionsNamespace), PodSelector = new V1LabelSelector { MatchLabels = SessionPodSelector() } }],
                        Ports = [Tcp(ModelProxyPort)],
                    },
                ],
                egress: null),
        ];
    }

    /// <summary>The sessions namespace's ceiling: how many session pods, and how much they may ask for in all.</summary>
    public static V1ResourceQuota Quota(int maxPods) => new()
    {
        ApiVersion = "v1",
        Kind = "ResourceQuota",
        Metadata = Meta("session-quota", SessionsNamespace),
        Spec = new V1ResourceQuotaSpec
        {
            Hard = Quantities(
                ("pods", maxPods.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("requests.cpu", $"{maxPods / 4}"), ("requests.memory", $"{maxPods / 2}Gi"), ("requests.ephemeral-storage", $"{maxPods}Gi"),
                ("limits.cpu", $"{maxPods}"), ("limits.memory", $"{maxPods * 2}Gi"), ("limits.ephemeral-storage", $"{maxPods * 4}Gi"),
                ("services", "0"), ("secrets", "0"), ("persistentvolumeclaims", "0")),
        },
    };

    /// <summary>Every container in the namespace gets the session pod's requests and limits unless it says otherwise, and never more.</summary>
    public static V1LimitRange Limits() => new()
    {
        ApiVersion = "v1",
        Kind = "LimitRange",
        Metadata = Meta("session-limits", SessionsNamespace),
        Spec = new V1LimitRangeSpec
        {
            Limits =
            [
                new V1LimitRangeItem
                {
                    Type = "Container",
                    DefaultRequest = Quantities(("cpu", "250m"), ("memory", "512Mi"), ("ephemeral-storage", "1Gi")),
                    DefaultProperty = Quantities(("cpu", "1"), ("memory", "2Gi"), ("ephemeral-storage", "4Gi")),
                    // A render pod asks for more than a session (SessionPodTemplate.ForRender): a 1080p render peaks near 2.2 GB.
                    Max = Quantities(("cpu", "2"), ("memory", "3Gi"), ("ephemeral-storage", "6Gi")),
                },
            ],
        },
    };

    private static V1NetworkPolicyIngressRule From(string service, int port) => new()
    {
        FromProperty = [new V1NetworkPolicyPeer { NamespaceSelector = Namespace(ServicesNamespace), PodSelector = new V1LabelSelector { MatchLabels = Service(service) } }],
        Ports = [Tcp(port)],
    };

    private static V1NetworkPolicy Policy(string name, string ns, V1LabelSelector pods, IList<string> types, IList<V1NetworkPolicyIngressRule>? ingress, IList<V1NetworkPolicyEgressRule>? egress) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "NetworkPolicy",
        Metadata = Meta(name, ns),
        Spec = new V1NetworkPolicySpec { PodSelector = pods, PolicyTypes = types, Ingress = ingress, Egress = egress },
    };

    private static Dictionary<string, string> SessionPodSelector() => new() { [NameLabel] = SessionPodName };

    private static Dictionary<string, string> Service(string name) => new() { [NameLabel] = name };

    private static V1LabelSelector Namespace(string ns) => new() { MatchLabels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = ns } };

    private static V1NetworkPolicyPort Tcp(int port) => new() { Protocol = "TCP", Port = port };

    private static V1ObjectMeta Meta(string name, string ns) => new()
    {
        Name = name,
        NamespaceProperty = ns,
        Labels = new Dictionary<string, string> { [PartOfLabel] = PartOf, [ComponentLabel] = "session-isolation" },
    };

    private static Dictionary<string, ResourceQuantity> Quantities(params (string Name, string Value)[] values) =>
        values.ToDictionary(v => v.Name, v => new ResourceQuantity(v.Value));
}
