using System.Net;
using System.Runtime.CompilerServices;
using Google;
using Google.Cloud.Storage.V1;
using StorageObject = Google.Apis.Storage.v1.Data.Object;

namespace StoryDream.Tests.GoogleCloud.Storage;

/// <summary>What tests ask of a bucket to check what the code under test stored, in one line each.</summary>
internal static class StorageTestExtensions
{
    public static Task<StorageObject> GetMetadataAsync(this StorageClient storage, string bucket, string name, CancellationToken cancellationToken) =>
        storage.GetObjectAsync(bucket, name, cancellationToken: cancellationToken);

    public static async Task<bool> ExistsAsync(this StorageClient storage, string bucket, string name, CancellationToken cancellationToken)
    {
        try
        {
            await storage.GetObjectAsync(bucket, name, cancellationToken: cancellationToken);
            return true;
        }
        catch (GoogleApiException e) when (e.HttpStatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public static Task DownloadAsync(this StorageClient storage, string bucket, string name, Stream destination, CancellationToken cancellationToken) =>
        storage.DownloadObjectAsync(bucket, name, destination, cancellationToken: cancellationToken);

    public static async Task<byte[]> DownloadBytesAsync(this StorageClient storage, string bucket, string name, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await storage.DownloadObjectAsync(bucket, name, buffer, cancellationToken: cancellationToken);
        return buffer.ToArray();
    }

    public static async IAsyncEnumerable<StorageObject> ListAsync(this StorageClient storage, string bucket, string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in storage.ListObjectsAsync(bucket, prefix).WithCancellation(cancellationToken))
        {
            yield return item;
        }
    }
}
