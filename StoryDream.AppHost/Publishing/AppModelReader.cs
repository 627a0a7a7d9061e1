using k8s.Models;
using StoryDream.ServiceDefaults;
using static StoryDream.Kubernetes.KubernetesNames;

namespace StoryDream.AppHost.Publishing;

/// <summary>One of the app model's projects as the cluster runs it: its name, its variables, whether anything calls it.</summary>
internal sealed record PublishedService(string Name, IReadOnlyList<V1EnvVar> Environment, bool ReceivesTraffic);

/// <summary>
/// Reads the Aspire app model for <c>publish</c>: each project resource's environment as the model gives it in publish
/// mode (references, parameters, settings), mapped to what the cluster has in their place. A reference added to the
/// model therefore reaches the manifests without a change here.
/// </summary>
internal static class AppModelReader
{
    public static async Task<IReadOnlyList<PublishedService>> ReadAsync(
        DistributedApplicationModel model, DistributedApplicationExecutionContext executionContext, CancellationToken cancellationToken)
    {
        var projects = model.Resources.OfType<ProjectResource>().ToList();
        var services = new List<PublishedService>();
        foreach (var project in projects)
        {
            var variables = new Dictionary<string, object>(StringComparer.Ordinal);
            if (project.TryGetEnvironmentVariables(out var callbacks))
            {
                var context = new EnvironmentCallbackContext(executionContext, project, variables, cancellationToken);
                foreach (var callback in callbacks) { await callback.Callback(context); }
            }
            var environment = variables
                .Where(v => !SetByThePlatform(v.Key))
                .OrderBy(v => v.Key, StringComparer.Ordinal)
                .Select(v => Map(project.Name, v.Key, v.Value))
                .OfType<V1EnvVar>()
                .ToList();
            services.Add(new PublishedService(project.Name, environment, ReceivesTraffic(project, model)));
        }
        return services;
    }

    // Aspire's own per-process settings (ports, OTLP, forwarded headers): the manifests set their cluster values once,
    // in the Deployment and the shared config map.
    private static bool SetByThePlatform(string name) =>
        name is "HTTP_PORTS" or "HTTPS_PORTS" or "ASPNETCORE_URLS" or "ASPNETCORE_FORWARDEDHEADERS_ENABLED"
        || name.StartsWith("OTEL_", StringComparison.Ordinal)
        || name.StartsWith("DOTNET_", StringComparison.Ordinal)
        || name.StartsWith("LOGGING__CONSOLE", StringComparison.Ordinal);

    // Null: nothing in the cluster stands for it (TLS ends at the Ingress, so no service has an https endpoint).
    private static V1EnvVar? Map(string service, string name, object value) => value switch
    {
        string text => new V1EnvVar { Name = name, Value = text },
        // A managed Redis (Memorystore) in the cluster: its address and password are the operator's, in the secret.
        ConnectionStringReference connection => KubernetesManifests.SecretVariable(name, $"{connection.Resource.Name}-connection-string"),
        IResourceWithConnectionString resource => KubernetesManifests.SecretVariable(name, $"{resource.Name}-connection-string"),
        ParameterResource { Secret: true } parameter => KubernetesManifests.SecretVariable(name, parameter.Name),
        EndpointReference { Scheme: "https" } or EndpointReferenceExpression { Endpoint.Scheme: "https" } => null,
        EndpointReference { Resource: ProjectResource target } => new V1EnvVar { Name = name, Value = ClusterUrl(target.Name) },
        EndpointReferenceExpression { Endpoint.Resource: ProjectResource target, Property: EndpointProperty.Url } => new V1EnvVar { Name = name, Value = ClusterUrl(target.Name) },
        ReferenceExpression { Format: "{0}", ValueProviders.Count: 1 } expression => Map(service, name, expression.ValueProviders[0]),
        _ => throw new InvalidOperationException(
            $"{service}'s {name} is a {value.GetType().Name}, which has no Kubernetes counterpart: give it one in {nameof(AppModelReader)}, or set it only in run mode."),
    };

    private static string ClusterUrl(string service) => $"http://{service}.{ServicesNamespace}.svc.cluster.local";

    /// <summary>A Service only for what something calls: a project another resource references, and the gateway (the Ingress's backend).</summary>
    private static bool ReceivesTraffic(ProjectResource project, DistributedApplicationModel model) =>
        project.Name == ResourceNames.Gateway
        || model.Resources.Any(r => r.Annotations.OfType<ResourceRelationshipAnnotation>().Any(a => a.Resource == project && a.Type == "Reference"));
}
