namespace StoryDream.AppHost.Publishing;

/// <summary>One service's size and scaling in the cluster.</summary>
internal sealed record ServiceSizing(string CpuRequest, string MemoryRequest, string CpuLimit, string MemoryLimit, int MinReplicas, int MaxReplicas);

/// <summary>
/// What differs between the kustomize base and an environment: the base is published with <see cref="Base"/>,
/// and the production overlay's patches are the same builders run with <see cref="Production"/>.
/// </summary>
internal sealed record PublishSettings
{
    /// <summary>Images are pinned to this tag; a release bumps it (never <c>latest</c>).</summary>
    public const string ImageTag = "0.1.0";

    public required string Domain { get; init; }

    public required string GoogleProjectId { get; init; }

    public required string OtlpEndpoint { get; init; }

    /// <summary>Registry prefix of the images; empty for the bare names the base uses.</summary>
    public string ImageRegistry { get; init; } = "";

    public required IReadOnlyDictionary<string, ServiceSizing> Sizing { get; init; }

    /// <summary>
    /// Where the ingress controller's connections to the gateway come from (its pods' network): the gateway believes
    /// <c>X-Forwarded-For</c> only from there, so anonymous rate limits count each client, not the ingress.
    /// </summary>
    public required string IngressNetwork { get; init; }

    /// <summary>Where the gateway's connections to the API come from (its pods' network): the API believes the client address the gateway forwards only from there.</summary>
    public required string GatewayNetwork { get; init; }

    public string PreviewDomain => $"preview.{Domain}";

    public string ApiHost => $"api.{Domain}";

    public string Image(string name) => $"{(ImageRegistry.Length == 0 ? "" : ImageRegistry + "/")}storydream/{name}:{ImageTag}";

    public static PublishSettings Base { get; } = new()
    {
        Domain = "storydream.example",
        GoogleProjectId = "storydream",
        OtlpEndpoint = "http://otel-collector.observability.svc.cluster.local:4318",
        // A GKE VPC-native cluster's pod ranges are carved from 10.0.0.0/8; narrow these to the cluster's pod range. The
        // network policies already admit only the ingress controller to the gateway and only the gateway to the API.
        IngressNetwork = "10.0.0.0/8",
        GatewayNetwork = "10.0.0.0/8",
        Sizing = new Dictionary<string, ServiceSizing>
        {
            [ServiceDefaults.ResourceNames.Api] = new("250m", "256Mi", "1", "512Mi", 2, 10),
            [ServiceDefaults.ResourceNames.Gateway] = new("250m", "256Mi", "1", "512Mi", 2, 10),
            [ServiceDefaults.ResourceNames.SyncWorker] = new("250m", "256Mi", "1", "1Gi", 2, 6),
        },
    };

    public static PublishSettings Production { get; } = Base with
    {
        Domain = "storydream.example.com",
        GoogleProjectId = "storydream-prod",
        ImageRegistry = "registry.example.com",
        Sizing = new Dictionary<string, ServiceSizing>
        {
            [ServiceDefaults.ResourceNames.Api] = new("500m", "512Mi", "2", "1Gi", 3, 20),
            [ServiceDefaults.ResourceNames.Gateway] = new("500m", "512Mi", "2", "1Gi", 3, 30),
            [ServiceDefaults.ResourceNames.SyncWorker] = new("500m", "512Mi", "2", "2Gi", 3, 12),
        },
    };
}
