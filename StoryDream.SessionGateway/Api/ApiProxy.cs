using Microsoft.Extensions.Options;
using StoryDream.ServiceDefaults;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace StoryDream.SessionGateway.Api;

/// <summary>
/// <c>/api/**</c> to the API, found through service discovery (<c>http://api</c>). WebSocket upgrades (the chat) take their
/// own cluster only to get the long idle timeout; plain API calls keep YARP's default.
/// </summary>
internal static class ApiProxy
{
    public const string CorsPolicy = "web";
    private const string PathPrefix = "/api";
    private const string Path = PathPrefix + "/{**catch-all}";
    private const string HttpCluster = "api";
    private const string WebSocketCluster = "api-websockets";

    /// <summary>The API's body limit, enforced before the body is forwarded (<see cref="GatewayOptions.MaxApiRequestBodyBytes"/>).</summary>
    public static IApplicationBuilder UseApiBodyLimit(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value;
        return app.UseWhen(context => context.Request.Path.StartsWithSegments(PathPrefix), api => api.UseRequestBodyLimit(context =>
            IsUpload(context.Request) ? options.MaxUploadRequestBodyBytes : options.MaxApiRequestBodyBytes));
    }

    /// <summary><c>POST /api/projects/{id}/assets</c>, the one API route that takes large bodies.</summary>
    private static bool IsUpload(HttpRequest request) =>
        HttpMethods.IsPost(request.Method)
        && request.Path.Value?.TrimEnd('/').Split('/') is ["", "api", "projects", { Length: > 0 }, "assets"];

    public static IReadOnlyList<RouteConfig> Routes() =>
    [
        new RouteConfig
        {
            RouteId = WebSocketCluster,
            ClusterId = WebSocketCluster,
            CorsPolicy = CorsPolicy,
            Order = 0,
            Match = new RouteMatch
            {
                Path = Path,
                Headers = [new RouteHeader { Name = "Upgrade", Values = ["websocket"], Mode = HeaderMatchMode.ExactHeader }],
            },
        },
        new RouteConfig
        {
            RouteId = HttpCluster,
            ClusterId = HttpCluster,
            CorsPolicy = CorsPolicy,
            Order = 1,
            Match = new RouteMatch { Path = Path },
        },
    ];

    public static IReadOnlyList<ClusterConfig> Clusters(TimeSpan webSocketActivityTimeout) =>
    [
        Cluster(HttpCluster, null),
        Cluster(WebSocketCluster, new ForwarderRequestConfig { ActivityTimeout = webSocketActivityTimeout }),
    ];

    private static ClusterConfig Cluster(string id, ForwarderRequestConfig? request) => new()
    {
        ClusterId = id,
        HttpRequest = request,
        Destinations = new Dictionary<string, DestinationConfig>
        {
            [ResourceNames.Api] = new DestinationConfig { Address = $"http://{ResourceNames.Api}" },
        },
    };
}
