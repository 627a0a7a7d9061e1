using System.Net;
using Google;
using Google.Cloud.Storage.V1;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Api.Downloads;

/// <summary>
/// The download a signed URL would serve, for the Storage emulator (<see cref="RoutedDownloadLinks"/>). Like a signed
/// URL it needs no bearer token, only the link's own token; unlike one it also checks, at download time, that the user
/// it was issued to still owns the project. Anything wrong is a 404, so a link reveals nothing about other projects.
/// </summary>
internal static class DownloadsApi
{
    public static IEndpointRouteBuilder MapDownloadsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/projects/{id}/downloads/{token}", DownloadAsync).WithTags("Downloads").AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    public static async Task<Results<PushStreamHttpResult, ProblemHttpResult>> DownloadAsync(
        string id, string token, string? name, DownloadTokens tokens, IProjectStore projects, StorageClient storage, IOptions<StorageOptions> options,
        HttpResponse response, CancellationToken cancellationToken)
    {
        if (tokens.Validate(token, id) is not var (userId, objectName)
            || !ProjectIds.IsValid(id)
            || !DownloadLinkOptions.IsProjectAsset(id, objectName)
            || await projects.GetAsync(userId, id, cancellationToken) is null)
        {
            return Gone();
        }
        Google.Apis.Storage.v1.Data.Object stored;
        try
        {
            stored = await storage.GetObjectAsync(options.Value.Bucket, objectName, cancellationToken: cancellationToken);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            return Gone();
        }
        response.ContentLength = (long?)stored.Size;
        response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment")
        {
            FileNameStar = string.IsNullOrWhiteSpace(name) ? objectName[(objectName.LastIndexOf('/') + 1)..] : name,
        }.ToString();
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.CacheControl = "private, no-store";
        return TypedResults.Stream(body => storage.DownloadObjectAsync(stored, body, options.Value.Download(), cancellationToken),
            MediaTypeHeaderValue.TryParse(stored.ContentType, out _) ? stored.ContentType : "application/octet-stream");
    }

    private static ProblemHttpResult Gone() => ApiProblems.NotFound("This download link is not valid, has expired, or its project is gone.");
}
