using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace StoryDream.AppHost;

/// <summary>What the local run is told through its environment: the gateway's port, the dev folder, the metadata-server guard.</summary>
internal sealed record AppHostSettings(string RepositoryRoot, int GatewayPort, string DevDirectory, string? GceMetadataHost)
{
    public const int DefaultGatewayPort = 5100;
    public const string GatewayPortVariable = "STORYDREAM_GATEWAY_PORT";
    public const string DevDirectoryVariable = "STORYDREAM_DEV_DIRECTORY";

    public string SessionsDirectory => Path.Combine(DevDirectory, "sessions");

    public static AppHostSettings From(IConfiguration configuration, string repositoryRoot)
    {
        var port = DefaultGatewayPort;
        if (configuration[GatewayPortVariable] is { Length: > 0 } value
            && !(int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and < 65536))
        {
            throw new ArgumentException($"{GatewayPortVariable} must be a port number from 1 to 65535, not '{value}'.");
        }
        var dev = configuration[DevDirectoryVariable] is { Length: > 0 } dir ? Path.GetFullPath(dir) : Path.Combine(repositoryRoot, ".dev");
        return new AppHostSettings(repositoryRoot, port, dev, configuration["GCE_METADATA_HOST"] is { Length: > 0 } gce ? gce : null);
    }
}

internal static class LocalEnvironmentExtensions
{
    /// <summary>Locally nothing may reach the GCE metadata server: a probe of it goes to the closed loopback port run.sh or the tests picked.</summary>
    public static IResourceBuilder<T> WithLocalEnvironment<T>(this IResourceBuilder<T> builder, AppHostSettings settings) where T : IResourceWithEnvironment
    {
        if (settings.GceMetadataHost is { } host)
        {
            builder.WithEnvironment("GCE_METADATA_HOST", host).WithEnvironment("GCE_METADATA_IP", host);
        }
        return builder;
    }
}
