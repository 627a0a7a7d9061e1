using System.Diagnostics;

namespace StoryDream.Api.Http;

internal static class ProblemDetailsSetup
{
    /// <summary>Every error as <c>application/problem+json</c> with a stable type and the trace id to quote in a report.</summary>
    public static IHostApplicationBuilder AddApiProblemDetails(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var status = context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode;
            if (string.IsNullOrEmpty(context.ProblemDetails.Type) || context.ProblemDetails.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
            {
                context.ProblemDetails.Type = ProblemTypes.ForStatus(status);
            }
            context.ProblemDetails.Extensions["traceId"] = Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
        });
        builder.Services.AddExceptionHandler<ApiExceptionHandler>();
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.AddOptions<HttpOptions>()
            .BindConfiguration(HttpOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        return builder;
    }
}
