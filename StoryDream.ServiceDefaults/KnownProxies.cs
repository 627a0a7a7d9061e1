using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace StoryDream.ServiceDefaults;

/// <summary>
/// <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed only from the proxies in <c>ForwardedHeaders:KnownProxies</c>
/// (addresses or CIDR networks, comma-separated; loopback when unset, as the gateway and the API are neighbours on one
/// machine in a local run). Anyone else could name any address and spread their requests over many rate-limit partitions.
/// </summary>
public static class KnownProxies
{
    public const string SectionName = "ForwardedHeaders";

    public static IServiceCollection AddKnownProxies(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ForwardedHeadersOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            var configured = configuration[$"{SectionName}:KnownProxies"];
            if (string.IsNullOrWhiteSpace(configured)) { return; }
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var entry in configured.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                options.KnownIPNetworks.Add(Parse(entry));
            }
        });
        return services;
    }

    /// <summary>Replaces the connection's address and scheme with the forwarded ones when the connection is a known proxy.</summary>
    public static IApplicationBuilder UseKnownProxies(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseForwardedHeaders(app.ApplicationServices.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value);
    }

    private static System.Net.IPNetwork Parse(string entry)
    {
        if (System.Net.IPNetwork.TryParse(entry, out var network)) { return network; }
        if (IPAddress.TryParse(entry, out var address)) { return new System.Net.IPNetwork(address, address.GetAddressBytes().Length * 8); }
        throw new OptionsValidationException(SectionName, typeof(ForwardedHeadersOptions),
            [$"{SectionName}:KnownProxies has '{entry}', which is neither an IP address nor a CIDR network such as 10.0.0.0/8."]);
    }
}
