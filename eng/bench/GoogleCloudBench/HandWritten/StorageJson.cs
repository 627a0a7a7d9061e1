using System.Text.Json.Serialization;

namespace GoogleCloudBench.HandWritten;

// Wire shapes of the Cloud Storage JSON API (int64 fields arrive as strings).

internal sealed record ObjectResource(
    string? Bucket,
    string? Name,
    long Size,
    string? ContentType,
    long Generation,
    long Metageneration,
    string? Crc32c,
    string? Md5Hash,
    DateTimeOffset? TimeCreated,
    DateTimeOffset? Updated,
    Dictionary<string, string>? Metadata)
{
    public StorageObject ToStorageObject(string bucket, string name) => new(
        Bucket ?? bucket,
        Name ?? name,
        Size,
        ContentType,
        Generation,
        Metageneration,
        Crc32C.TryParseBase64(Crc32c, out var crc) ? crc : null,
        Md5Hash,
        TimeCreated,
        Updated,
        Metadata ?? []);
}

internal sealed record ObjectList(List<ObjectResource>? Items, List<string>? Prefixes, string? NextPageToken);

internal sealed record RewriteResponse(bool Done, string? RewriteToken, ObjectResource? Resource);

internal sealed record UploadMetadata(string Name, string ContentType, IReadOnlyDictionary<string, string>? Metadata);

internal sealed record ErrorResponse(ErrorBody? Error);

internal sealed record ErrorBody(int Code, string? Message, List<ErrorItem>? Errors);

internal sealed record ErrorItem(string? Reason, string? Message);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.AllowReadingFromString,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ObjectResource))]
[JsonSerializable(typeof(ObjectList))]
[JsonSerializable(typeof(RewriteResponse))]
[JsonSerializable(typeof(UploadMetadata))]
[JsonSerializable(typeof(ErrorResponse))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
