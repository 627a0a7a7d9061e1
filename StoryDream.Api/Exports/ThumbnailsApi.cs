using System.Globalization;
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
        string id, ClaimsPrincipal user, IProjectStore projects, StorageClient storage, HttpRequest request, HttpResponse response, CancellationToken cancellationToken)
    {
        if (await ProjectsApi.FindAsync(projects, user, id, cancellationToken) is not { } project) { return ProjectsApi.NotFound(); }
        StorageReadStream stream;
        try
        {
            stream = await storage.OpenReadAsync(storage.Bucket, ThumbnailRenderer.ObjectName(project.Id), cancellationToken: cancellationToken);
        }
        catch (StorageException e) when (e.IsNotFound)
        {
            return ApiProblems.NotFound("The project has no thumbnail yet: one is made after the agent's first turn.");
        }
        var version = stream.Generation.ToString(CultureInfo.InvariantCulture);
        response.Headers.ETag = ETags.Quote(version);
        // Revalidated on every use: a new turn replaces the image under the same URL.
        response.Headers.CacheControl = "private, no-cache";
        if (ETags.NoneMatchHits(request.Headers.IfNoneMatch, version))
        {
            await stream.DisposeAsync();
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        return TypedResults.Stream(stream, "image/png");
    }
}
