using Microsoft.Extensions.Options;

namespace StoryDream.SessionGateway.Preview;

/// <summary>The two ways a preview is addressed (DESIGN section 6).</summary>
internal static class PreviewEndpoints
{
    public const string PathPrefix = "/preview";
    private const int MaxSessionIdLength = 64;

    /// <summary>
    /// <c>{sessionId}.{PreviewDomain}</c>: everything sent to such a host is the pod's, whatever its path, so this runs
    /// before routing and never reaches the gateway's own endpoints.
    /// </summary>
    public static IApplicationBuilder UsePreviewHosts(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var forwarder = app.ApplicationServices.GetRequiredService<PreviewForwarder>();
        var suffix = "." + app.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value.PreviewDomain;
        return app.Use((context, next) =>
        {
            var label = SessionLabel(context.Request.Headers.Host.ToString(), suffix);
            if (label.IsEmpty) { return next(context); }
            return IsSessionId(label) ? forwarder.HandleAsync(context, label, PreviewMode.Host) : PreviewPages.WriteNotFoundAsync(context);
        });
    }

    /// <summary><c>/preview/{sessionId}/**</c>, for set-ups without wildcard DNS, and only when <see cref="GatewayOptions.PathPreviews"/> asks for it.</summary>
    public static IEndpointRouteBuilder MapPreviewPaths(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (!endpoints.ServiceProvider.GetRequiredService<IOptions<GatewayOptions>>().Value.PathPreviews) { return endpoints; }
        var forwarder = endpoints.ServiceProvider.GetRequiredService<PreviewForwarder>();
        endpoints.Map(PathPrefix + "/{sessionId}/{**path}", context =>
        {
            var sessionId = context.Request.RouteValues["sessionId"] as string;
            return IsSessionId(sessionId) ? forwarder.HandleAsync(context, sessionId, PreviewMode.Path) : PreviewPages.WriteNotFoundAsync(context);
        });
        return endpoints;
    }

    /// <summary>A request for a preview, by host or by path, whether or not it names a real session.</summary>
    internal static bool IsPreviewRequest(HttpRequest request, string hostSuffix) =>
        !SessionLabel(request.Headers.Host.ToString(), hostSuffix).IsEmpty || request.Path.StartsWithSegments(PathPrefix);

    /// <summary>The first label of a preview host (port ignored, case ignored as DNS does); empty for any other host.</summary>
    internal static ReadOnlySpan<char> SessionLabel(ReadOnlySpan<char> host, string suffix)
    {
        var colon = host.LastIndexOf(':');
        if (colon >= 0 && !host.EndsWith("]", StringComparison.Ordinal))
        {
            host = host[..colon];
        }
        return host.Length > suffix.Length && host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
            ? host[..^suffix.Length]
            : default;
    }

    /// <summary>
    /// Session ids are lower-case UUIDs; anything else (dots, slashes, encoded characters, upper case) is no session, and
    /// never reaches a Redis key or a cookie path.
    /// </summary>
    internal static bool IsSessionId(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxSessionIdLength) { return false; }
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')) { return false; }
        }
        return true;
    }
}
