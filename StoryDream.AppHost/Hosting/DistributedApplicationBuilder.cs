using System.Net;
using System.Net.Sockets;
using StoryDream.AppHost.DevAuth;

namespace StoryDream.AppHost.Hosting;

/// <summary>Collects the app model (Aspire's <c>IDistributedApplicationBuilder</c>).</summary>
internal sealed class DistributedApplicationBuilder(AppHostOptions options)
{
    private readonly List<Resource> _resources = [];

    public AppHostOptions Options { get; } = options;

    public IReadOnlyList<Resource> Resources => _resources;

    /// <summary>Set by <c>AddDevAuth</c>: the dev keys, and the token printed at start.</summary>
    public DevCredentialsSource? DevAuth { get; internal set; }

    public static DistributedApplicationBuilder CreateBuilder(string[] args) =>
        new(AppHostOptions.Parse(args, Environment.GetEnvironmentVariable));

    public IResourceBuilder<T> AddResource<T>(T resource) where T : Resource
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (_resources.Any(r => string.Equals(r.Name, resource.Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException($"A resource named '{resource.Name}' is already in the app model.");
        }
        _resources.Add(resource);
        return new ResourceBuilder<T>(this, resource);
    }

    public DistributedApplication Build()
    {
        ThrowOnWaitCycle();
        AllocatePorts(_resources.Where(r => r.Port == 0).ToList());
        return new DistributedApplication(this);
    }

    private void ThrowOnWaitCycle()
    {
        var visiting = new HashSet<Resource>();
        var done = new HashSet<Resource>();
        foreach (var resource in _resources) { Visit(resource, []); }

        void Visit(Resource resource, List<string> path)
        {
            if (done.Contains(resource)) { return; }
            if (!visiting.Add(resource))
            {
                throw new InvalidOperationException($"WaitFor cycle: {string.Join(" -> ", path.Append(resource.Name))}.");
            }
            foreach (var dependency in resource.WaitsFor) { Visit(dependency, [.. path, resource.Name]); }
            visiting.Remove(resource);
            done.Add(resource);
        }
    }

    // All listeners stay open until every port is chosen, so no two resources get the same one.
    private static void AllocatePorts(List<Resource> resources)
    {
        var listeners = resources.Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            foreach (var listener in listeners) { listener.Start(); }
            for (var i = 0; i < resources.Count; i++)
            {
                resources[i].Port = ((IPEndPoint)listeners[i].LocalEndpoint).Port;
            }
        }
        finally
        {
            foreach (var listener in listeners) { listener.Dispose(); }
        }
    }
}
