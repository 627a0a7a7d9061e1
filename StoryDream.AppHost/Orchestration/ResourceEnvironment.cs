using System.Globalization;
using StoryDream.AppHost.Hosting;

namespace StoryDream.AppHost.Orchestration;

/// <summary>The environment a resource starts with, in the formats Aspire injects.</summary>
internal static class ResourceEnvironment
{
    public static Dictionary<string, string> For(Resource resource, string otlpEndpoint, int closedPort)
    {
        ArgumentNullException.ThrowIfNull(resource);

        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            // Nothing local may reach the GCE metadata server; a probe for it hits a closed loopback port instead.
            ["GCE_METADATA_HOST"] = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{closedPort}"),
        };

        if (resource is ProjectResource)
        {
            environment["OTEL_SERVICE_NAME"] = resource.Name;
            environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint;
            environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            environment["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={resource.Name}-{Guid.NewGuid():N}";
            // Export every second or so, as Aspire does in development, so the dashboard is live.
            environment["OTEL_BSP_SCHEDULE_DELAY"] = "1000";
            environment["OTEL_BLRP_SCHEDULE_DELAY"] = "1000";
            environment["OTEL_METRIC_EXPORT_INTERVAL"] = "5000";
            environment["DOTNET_ENVIRONMENT"] = "Development";
            environment["Logging__Console__FormatterName"] = "simple";
        }

        foreach (var reference in resource.References)
        {
            foreach (var (key, value) in reference.ReferenceEnvironment()) { environment[key] = value; }
        }
        foreach (var (key, value) in resource.Environment) { environment[key] = value(); }
        return environment;
    }
}
