using System.Diagnostics;
using StoryDream.Api.Auth;

namespace StoryDream.Api.Http;

/// <summary>
/// One structured line per request (method, route template, status, duration, user), inside the request's trace, and
/// the user id on the request's span. Probes are left out, as they are from traces.
/// </summary>
internal sealed partial class RequestLoggingMiddleware(RequestDelegate next, ILogger<RequestLoggingMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments(ServiceDefaultsExtensions.HealthEndpointPath) || path.StartsWithSegments(ServiceDefaultsExtensions.AlivenessEndpointPath))
        {
            await next(context);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var userId = context.User.FindFirst(ApiClaims.Subject)?.Value;
            if (userId is not null) { Activity.Current?.SetTag("enduser.id", userId); }
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
            LogRequest(logger, context.Request.Method, route, context.Response.StatusCode,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, userId ?? "-");
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "HTTP {Method} {Route} responded {StatusCode} in {ElapsedMs:0.0} ms for {UserId}")]
    private static partial void LogRequest(ILogger logger, string method, string route, int statusCode, double elapsedMs, string userId);
}
