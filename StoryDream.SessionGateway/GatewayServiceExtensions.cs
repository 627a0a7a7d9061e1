using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Instrumentation.AspNetCore;
using StackExchange.Redis;
using StoryDream.ServiceDefaults;
using StoryDream.SessionGateway.Api;
using StoryDream.SessionGateway.Preview;
using StoryDream.SessionGateway.Studio;
using Yarp.ReverseProxy.Configuration;

namespace StoryDream.SessionGateway;

internal static class GatewayServiceExtensions
{
    private static readonly TimeSpan CorsPreflightMaxAge = TimeSpan.FromMinutes(10);

    public static IHostApplicationBuilder AddGatewayServices(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;

        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddOptions<PreviewKeyOptions>().BindConfiguration(PreviewKeyOptions.SectionName)
            .Validate(PreviewKeyOptions.IsUsable, "Sessions:PreviewTokenKey must be set to a base64 key of at least 32 random bytes, the one the API signs preview tokens with.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        builder.AddRedisClient(ResourceNames.Redis, configureOptions: options =>
        {
            // The gateway starts and serves cached sessions without Redis; a request must fail at once rather than queue
            // behind an outage.
            options.AbortOnConnectFail = false;
            options.BacklogPolicy = BacklogPolicy.FailFast;
            options.ClientName ??= ResourceNames.Gateway;
        });

        services.AddSingleton<SessionDestinations>();
        services.AddSingleton<SessionActivity>();
        services.AddSingleton<PreviewAccess>();
        services.AddSingleton<PreviewForwarder>();
        services.AddHostedService<SessionEventsListener>();
        services.AddHostedService<SessionActivityWriter>();

        services.AddStudio();
        // http://api resolves through service discovery: services__api__http__0 locally, the Kubernetes Service in a cluster.
        services.AddReverseProxy().AddServiceDiscoveryDestinationResolver();
        services.AddSingleton<IProxyConfigProvider>(sp => new InMemoryConfigProvider(
            ApiProxy.Routes(), ApiProxy.Clusters(sp.GetRequiredService<IOptions<GatewayOptions>>().Value.WebSocketActivityTimeout)));

        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<GatewayOptions>>((cors, gateway) =>
            cors.AddPolicy(ApiProxy.CorsPolicy, policy => policy
                .WithOrigins(gateway.Value.CorsOriginList())
                .AllowAnyMethod()
                .AllowAnyHeader()
                .WithExposedHeaders("ETag", "Location")
                .SetPreflightMaxAge(CorsPreflightMaxAge)));

        // A preview page load is hundreds of module requests: tracing each costs about a sixth of the gateway's CPU per
        // request (eng/bench) and tells nothing the metrics and the logged forwarding errors do not.
        services.AddOptions<AspNetCoreTraceInstrumentationOptions>().Configure<IOptions<GatewayOptions>>((tracing, gateway) =>
        {
            var suffix = "." + gateway.Value.PreviewDomain;
            var inner = tracing.Filter;
            tracing.Filter = context => (inner?.Invoke(context) ?? true) && !PreviewEndpoints.IsPreviewRequest(context.Request, suffix);
        });

        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);
        return builder;
    }
}
