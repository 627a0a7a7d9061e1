namespace StoryDream.AppHost.LocalServers;

/// <summary>
/// Debian's <c>redis-server</c> as an executable resource (there is no container runtime for Aspire's Redis container):
/// loopback only, no persistence, and the <c>redis</c> connection string its references receive.
/// </summary>
internal sealed class RedisServerResource(string name, string workingDirectory)
    : ExecutableResource(name, "redis-server", workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public EndpointReference Endpoint => new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Endpoint.Property(EndpointProperty.HostAndPort)}");
}

/// <summary>
/// A Google Cloud emulator run through its launcher under <c>eng/servers</c>. Clients find it through
/// <see cref="HostVariable"/> (<c>host:port</c>), the variable Google's own libraries read.
/// </summary>
internal sealed class EmulatorResource(string name, string launcher, string workingDirectory, string hostVariable)
    : ExecutableResource(name, "bash", workingDirectory)
{
    public const string EndpointName = "http";

    public string Launcher { get; } = launcher;

    public string HostVariable { get; } = hostVariable;

    public EndpointReference Endpoint => new(this, EndpointName);
}
