using Microsoft.Extensions.Options;

namespace StoryDream.SessionGateway.Models;

internal static class ModelProxyExtensions
{
    /// <summary>
    /// The model proxy's options and services, and its internal listener beside the gateway's own URLs. Requests on
    /// that port reach only the proxy, and the proxy is reachable on no other port (<see cref="UseModelProxy"/>).
    /// </summary>
    public static IHostApplicationBuilder AddModelProxy(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<ModelProxyOptions>().BindConfiguration(ModelProxyOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => !o.Enabled || !string.IsNullOrWhiteSpace(o.ApiKey),
                "ModelProxy:ApiKey is required when ModelProxy:Port is set: the platform's Anthropic key (a Kubernetes Secret in production).")
            .Validate(o => o.Upstream is { IsAbsoluteUri: true, Scheme: "http" or "https" }, "ModelProxy:Upstream must be an absolute http(s) URL.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ModelUsage>();
        builder.Services.AddSingleton<ModelProxy>();

        var port = builder.Configuration.GetValue<int>($"{ModelProxyOptions.SectionName}:Port");
        if (port > 0)
        {
            // Added to the configured URLs rather than by a Listen call, which would replace them.
            var urls = builder.Configuration["urls"] is { Length: > 0 } configured ? configured
                : builder.Configuration["http_ports"] is { Length: > 0 } ports ? string.Join(';', ports.Split(';').Select(p => $"http://*:{p}"))
                : "http://localhost:5000";
            builder.WebHost.UseUrls([.. urls.Split(';', StringSplitOptions.RemoveEmptyEntries), $"http://*:{port}"]);
        }
        return builder;
    }

    /// <summary>Everything arriving on the proxy's port goes to the proxy and nowhere else; put it first.</summary>
    public static WebApplication UseModelProxy(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var port = app.Services.GetRequiredService<IOptions<ModelProxyOptions>>().Value.Port;
        if (port > 0)
        {
            var proxy = app.Services.GetRequiredService<ModelProxy>();
            app.UseWhen(context => context.Connection.LocalPort == port, branch => branch.Run(proxy.HandleAsync));
        }
        return app;
    }
}
