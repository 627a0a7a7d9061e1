using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using StoryDream.SessionGateway.Preview;

namespace StoryDream.SessionGateway.Studio;

/// <summary>
/// The studio at <c>/</c>: the built files, hashed assets cached for a year, <c>index.html</c> revalidated on every load,
/// and any other page path answered with <c>index.html</c> so client routes survive a reload. <c>/api/**</c> and the
/// preview routes are endpoints of their own and never reach these.
/// </summary>
internal static class StudioEndpoints
{
    public const string ConfigPath = "/config.json";
    private const string AssetsPrefix = "/assets";
    private const string IndexFile = "index.html";
    private static readonly string ImmutableCache = new CacheControlHeaderValue { Public = true, MaxAge = TimeSpan.FromDays(365), Extensions = { new("immutable") } }.ToString();
    private static readonly string Revalidate = new CacheControlHeaderValue { NoCache = true }.ToString();

    public static IServiceCollection AddStudio(this IServiceCollection services)
    {
        services.AddOptions<StudioOptions>().BindConfiguration(StudioOptions.SectionName)
            .Validate(o => string.IsNullOrEmpty(o.Authority) || Uri.TryCreate(o.Authority, UriKind.Absolute, out _), "Studio:Authority must be an absolute URL.")
            .Validate(o => string.IsNullOrEmpty(o.Authority) == string.IsNullOrEmpty(o.ClientId), "Studio:Authority and Studio:ClientId go together.")
            .ValidateOnStart();
        services.AddResponseCompression(options => options.MimeTypes = ["text/javascript", "application/javascript", "text/css", "text/html", "image/svg+xml", "application/json"]);
        return services;
    }

    /// <summary>Compressed static files of the studio; anything under <c>/api</c> or a preview passes through untouched.</summary>
    public static IApplicationBuilder UseStudioFiles(this WebApplication app)
    {
        var files = FilesOf(app);
        app.UseWhen(context => IsStudioRequest(context.Request), studio =>
        {
            studio.UseResponseCompression();
            if (files is not null)
            {
                studio.UseStaticFiles(new StaticFileOptions
                {
                    FileProvider = files,
                    ContentTypeProvider = new FileExtensionContentTypeProvider(),
                    OnPrepareResponse = file => file.Context.Response.Headers.CacheControl =
                        file.Context.Request.Path.StartsWithSegments(AssetsPrefix) ? ImmutableCache : Revalidate,
                });
            }
        });
        return app;
    }

    public static IEndpointRouteBuilder MapStudio(this WebApplication app)
    {
        var files = FilesOf(app);
        app.MapGet(ConfigPath, (IOptions<StudioOptions> options, HttpResponse response) =>
        {
            var studio = options.Value;
            response.Headers.CacheControl = Revalidate;
            return TypedResults.Ok(new StudioConfig(NullIfEmpty(studio.Authority), NullIfEmpty(studio.ClientId), studio.Scope, studio.DevSignIn));
        });
        app.MapFallback(async context =>
        {
            var request = context.Request;
            var index = files?.GetFileInfo(IndexFile);
            // MapFallback matches no path that looks like a file: a stale asset name is a 404, not the app.
            if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) || !IsStudioRequest(request))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            if (index is not { Exists: true })
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await context.Response.WriteAsync("The studio is not built: run bash eng/setup.sh.");
                return;
            }
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = Revalidate;
            context.Response.ContentLength = index.Length;
            if (HttpMethods.IsGet(request.Method)) { await context.Response.SendFileAsync(index, context.RequestAborted); }
        });
        return app;
    }

    private static bool IsStudioRequest(HttpRequest request) =>
        !request.Path.StartsWithSegments("/api") && !request.Path.StartsWithSegments(PreviewEndpoints.PathPrefix);

    private static string? NullIfEmpty(string value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static PhysicalFileProvider? FilesOf(WebApplication app)
    {
        var root = Path.Combine(app.Environment.ContentRootPath, app.Services.GetRequiredService<IOptions<StudioOptions>>().Value.Root);
        return Directory.Exists(root) ? new PhysicalFileProvider(Path.GetFullPath(root)) : null;
    }
}
