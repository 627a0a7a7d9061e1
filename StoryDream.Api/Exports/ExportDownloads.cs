using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Api.Exports;

/// <summary>
/// How a finished export reaches the browser. The route has already checked the caller owns the project, so this is
/// the owner-checked stream DESIGN section 10 allows with the emulator. The one place to change when the signed-URL
/// service (V4 signing in production, issue 16) lands: answer a redirect to a short-lived URL instead.
/// </summary>
internal sealed class ExportDownloads(StorageClient storage)
{
    public async Task<IResult?> OpenAsync(string objectName, string fileName, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await storage.OpenReadAsync(storage.Bucket, objectName, cancellationToken: cancellationToken);
            return TypedResults.Stream(stream, "video/mp4", fileName);
        }
        catch (StorageException e) when (e.IsNotFound)
        {
            return null;
        }
    }
}
