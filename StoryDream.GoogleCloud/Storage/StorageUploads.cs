using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using Google;
using Google.Apis.Requests;
using Google.Apis.Responses;
using Google.Apis.Util;
using Google.Cloud.Storage.V1;
using StorageObject = Google.Apis.Storage.v1.Data.Object;

namespace StoryDream.GoogleCloud.Storage;

public static class StorageUploads
{
    /// <summary>
    /// Uploads bytes held in memory. The library only makes resumable uploads: a request to open a session, then one
    /// with the bytes. Up to <see cref="StorageOptions.SingleRequestUploadBytes"/> this sends one <c>multipart</c>
    /// request instead, through the library's own HTTP client (its credentials, its handlers), with the CRC-32C in
    /// <c>x-goog-hash</c> as the library sends it on a resumable upload's last request, so the service refuses bytes
    /// that do not match it, as with <see cref="UploadValidationMode.RejectAndThrow"/>. Larger content goes through
    /// <see cref="StorageClient.UploadObjectAsync(string, string, string, Stream, UploadObjectOptions, CancellationToken, IProgress{Google.Apis.Upload.IUploadProgress})"/>.
    /// Failures throw <see cref="GoogleApiException"/>, as the library's calls do.
    /// </summary>
    public static async Task<StorageObject> UploadBytesAsync(this StorageClient storage, StorageOptions options,
        string bucket, string name, string contentType, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(bucket);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (content.Length > options.SingleRequestUploadBytes)
        {
            using var source = MemoryMarshal.TryGetArray(content, out var array)
                ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false)
                : new MemoryStream(content.ToArray(), writable: false);
            return await storage.UploadObjectAsync(bucket, name, contentType, source, options.Upload(), cancellationToken);
        }

        var service = storage.Service;
        var builder = new RequestBuilder { BaseUri = new Uri(service.BaseUri), Path = $"/upload/{service.BasePath}b/{{bucket}}/o", Method = "POST" };
        builder.AddParameter(RequestParameterType.Path, "bucket", bucket);
        builder.AddParameter(RequestParameterType.Query, "uploadType", "multipart");
        using var request = builder.CreateRequest();
        var metadata = new StringContent(service.Serializer.Serialize(new StorageObject { Name = name, ContentType = contentType }));
        metadata.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "UTF-8" };
        var media = new ReadOnlyMemoryContent(content);
        media.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Content = new MultipartContent("related") { metadata, media };
        request.Headers.TryAddWithoutValidation("x-goog-hash", "crc32c=" + Crc32C.Base64Of(content.Span));

        using var response = await service.HttpClient.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new GoogleApiException(service.Name)
            {
                Error = await response.DeserializeErrorAsync(service.Name, service.Serializer),
                HttpStatusCode = response.StatusCode,
            };
        }
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return service.Serializer.Deserialize<StorageObject>(body);
    }
}
