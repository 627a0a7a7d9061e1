using Microsoft.Extensions.Options;
using StoryDream.Api.Auth;
using StoryDream.Api.Downloads;
using StoryDream.Api.Http;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;
using StoryDream.Api.Snapshots;
using StoryDream.GoogleCloud;
using StoryDream.ServiceDefaults;
using StoryDream.Snapshots;

namespace StoryDream.Api;

internal static class ApiServiceCollectionExtensions
{
    public static IHostApplicationBuilder AddApiServices(this IHostApplicationBuilder builder)
    {
        builder.AddApiProblemDetails();
        builder.AddApiAuth();
        builder.AddApiRateLimiting();
        builder.AddApiOpenApi();

        var services = builder.Services;
        services.AddKnownProxies();
        services.AddGoogleCloud(builder.Configuration);
        services.AddSnapshotStore();
        services.AddDownloadLinks();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IProjectStore, FirestoreProjectStore>();
        services.AddOptions<ProjectQuotaOptions>().BindConfiguration(ProjectQuotaOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IMessageStore, FirestoreMessageStore>();
        services.AddSingleton<IApiKeyStore, FirestoreApiKeyStore>();
        services.AddSingleton<UnknownApiKeys>();
        services.AddSingleton<IUserStore, FirestoreUserStore>();

        services.AddOptions<TemplateOptions>().BindConfiguration(TemplateOptions.SectionName);
        services.AddSingleton<TemplateCatalog>();
        services.AddHostedService<TemplateSeeding>();
        return builder;
    }

    /// <summary>Errors, the client's real address, logging, the body limit, who is calling, how often, then the endpoints.</summary>
    public static WebApplication UseApiMiddleware(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A malformed request is the client's error, already answered with a problem; it is not worth an error log.
            SuppressDiagnosticsCallback = context => context.Exception is BadHttpRequestException,
        });
        app.UseStatusCodePages();
        app.UseKnownProxies();
        app.UseMiddleware<RequestLoggingMiddleware>();
        app.UseRequestBodyLimit(app.Services.GetRequiredService<IOptions<HttpOptions>>().Value.MaxRequestBodyBytes);
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseMiddleware<UserUpsertMiddleware>();
        return app;
    }
}
