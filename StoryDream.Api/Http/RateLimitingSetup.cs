using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using StoryDream.Api.Auth;

namespace StoryDream.Api.Http;

internal static class RateLimitingSetup
{
    /// <summary>
    /// One fixed window per user (the token's subject, or an API key's owner, so a user's keys share their budget);
    /// unauthenticated requests are partitioned by client address. Over budget: 429 with <c>Retry-After</c>.
    /// </summary>
    public static IHostApplicationBuilder AddApiRateLimiting(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitingOptions>()
            .BindConfiguration(RateLimitingOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>()
            .Configure<IOptions<RateLimitingOptions>>((limiter, settings) =>
            {
                var limits = settings.Value;
                limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                {
                    if (IsProbe(context.Request.Path)) { return RateLimitPartition.GetNoLimiter("probe"); }
                    var key = context.User.FindFirst(ApiClaims.Subject)?.Value is { } userId
                        ? "user:" + userId
                        : "ip:" + context.Connection.RemoteIpAddress;
                    return RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = limits.PermitLimit,
                        Window = limits.Window,
                        QueueLimit = 0,
                    });
                });
                limiter.OnRejected = WriteRejectionAsync;
            });
        return builder;
    }

    private static async ValueTask WriteRejectionAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        var detail = "Too many requests.";
        if (rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            detail = $"Too many requests; retry in {seconds} s.";
        }
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = StatusCodes.Status429TooManyRequests, Type = ProblemTypes.RateLimited, Title = "Rate limited", Detail = detail },
        });
    }

    private static bool IsProbe(PathString path) =>
        path.StartsWithSegments(ServiceDefaultsExtensions.HealthEndpointPath) || path.StartsWithSegments(ServiceDefaultsExtensions.AlivenessEndpointPath);
}
