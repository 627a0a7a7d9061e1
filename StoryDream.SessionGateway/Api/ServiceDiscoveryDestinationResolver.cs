using System.Net;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.ServiceDiscovery;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.ServiceDiscovery;

namespace StoryDream.SessionGateway.Api;

/// <summary>
/// Resolves YARP destinations such as <c>http://api</c> through Microsoft.Extensions.ServiceDiscovery
/// (<c>services__api__http__0</c> locally, the Kubernetes service name in a cluster). It stands in for the
/// Microsoft.Extensions.ServiceDiscovery.Yarp package, which the package mirror here does not carry; swapping it back is a
/// one-line change in <see cref="GatewayServiceExtensions"/>.
/// </summary>
internal sealed class ServiceDiscoveryDestinationResolver(ServiceEndpointResolver resolver) : IDestinationResolver
{
    public async ValueTask<ResolvedDestinationCollection> ResolveDestinationsAsync(
        IReadOnlyDictionary<string, DestinationConfig> destinations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        var resolved = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        var changeTokens = new List<IChangeToken>();
        foreach (var (name, config) in destinations)
        {
            var address = new Uri(config.Address);
            var source = await resolver.GetEndpointsAsync(address.GetLeftPart(UriPartial.Authority), cancellationToken);
            changeTokens.Add(source.ChangeToken);
            for (var i = 0; i < source.Endpoints.Count; i++)
            {
                var key = source.Endpoints.Count == 1 ? name : $"{name}[{i}]";
                resolved[key] = config with { Address = Resolve(address, source.Endpoints[i].EndPoint).ToString() };
            }
        }
        return new ResolvedDestinationCollection(resolved, new CompositeChangeToken(changeTokens));
    }

    private static Uri Resolve(Uri original, EndPoint endPoint)
    {
        var builder = new UriBuilder(original);
        switch (endPoint)
        {
            case UriEndPoint uri:
                builder.Scheme = uri.Uri.Scheme;
                builder.Host = uri.Uri.Host;
                builder.Port = uri.Uri.Port;
                break;
            case IPEndPoint ip:
                builder.Host = ip.Address.ToString();
                builder.Port = ip.Port;
                break;
            case DnsEndPoint dns:
                builder.Host = dns.Host;
                builder.Port = dns.Port > 0 ? dns.Port : -1;
                break;
            default:
                throw new InvalidOperationException($"Service discovery returned an endpoint of an unknown kind for {original}: {endPoint}.");
        }
        return builder.Uri;
    }
}
