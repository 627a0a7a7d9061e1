using System.Net;
using Google;
using Google.Cloud.Storage.V1;

namespace StoryDream.GoogleCloud.Storage;

public static class StorageClientExtensions
{
    /// <summary>Deletes an object; one already gone (a retried or racing delete) is not an error.</summary>
    public static async Task DeleteObjectIfPresentAsync(this StorageClient storage, string bucket, string name, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(storage);
        try
        {
            await storage.DeleteObjectAsync(bucket, name, cancellationToken: cancellationToken);
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
        }
    }
}
