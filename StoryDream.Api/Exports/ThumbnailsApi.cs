using System.Globalization;
using System.Net;
using Google;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Options;
using System.Security.Claims;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Api.Exports;

/// <summary><c>GET /api/projects/{id}/thumbnail</c>: the still of the latest agent turn, with an ETag (its object generation).</summary>
internal static class ThumbnailsApi
{
    public static IEndpointRouteBuilder MapThumbnailsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/projects/{id}/thumbnail", GetAsync).WithTags("Exports").RequireAuthorization();
        return app;
    }

    public static async Task<IResult> GetAsync(
        string id, ClaimsPrincipal user, IProjectStore projects, StorageClient storage, IOptions<StorageOptions> options,
        HttpRequest request, HttpResponse response, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } project) { return ProjectsApi.NotFound(); }
        Google.Apis.Storage.v1.Data.Object stored;
        try
        {
            stored = await storage.GetObjectAsync(options.Value.Bucket, ThumbnailRenderer.ObjectName(project.Id), cancellationToken: cancellationToken);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            return ApiProblems.NotFound("The project has no thumbnail yet: one is made after the agent's first turn.");
        }
        var version = stored.Generation?.ToString(CultureInfo.InvariantCulture) ?? "0";
        response.Headers.ETag = ETags.Quote(version);
        // Revalidated on every use: a new turn replaces the image under the same URL.
        response.Headers.CacheControl = "private, no-cache";
        if (ETags.NoneMatchHits(request.Headers.IfNoneMatch, version))
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        response.ContentLength = (long?)stored.Size;
        var download = options.Value.Download();
        // The generation read above, so the bytes match the ETag even if a newer still lands meanwhile.
        download.Generation = stored.Generation;
        return TypedResults.Stream(body => storage.DownloadObjectAsync(stored, body, download, cancellationToken), "image/png");
    }
}
