using System.ComponentModel.DataAnnotations;
using System.Net.Http.Headers;
using Google.Cloud.Storage.V1;

namespace StoryDream.GoogleCloud.Storage;

/// <summary>
/// How the application uses Cloud Storage, bound from <c>GoogleCloud:Storage</c>. Unset values take the library's
/// defaults in production and the Storage emulator's workarounds when an emulator host is configured; the calls
/// themselves are the same in both.
/// </summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string SectionName = "GoogleCloud:Storage";

    /// <summary>
    /// At least the largest object we store (the sync worker's 50 MiB per-file limit): firebase-tools' emulator keeps only
    /// the first chunk of an upload sent in several, and reports success.
    /// </summary>
    public const int EmulatorUploadChunkSize = 64 * 1024 * 1024;

    /// <summary>The bucket the application keeps its data in.</summary>
    [Required]
    public string Bucket { get; set; } = "storydream-data";

    /// <summary>
    /// Service root (the JSON API's <c>…/storage/v1/</c>) when it is not Google's; ignored with an emulator host. Tests
    /// point the production path at the emulator with it.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// Bytes the library's downloader reads per chunk. Its default, 10 MiB, is a buffer it allocates for every download,
    /// which cost about 1 ms per call even for 1 KB; this stays under the large object heap's 85,000 bytes.
    /// </summary>
    public const int DownloadChunkSize = 80 * 1024;

    /// <summary>Bytes per request of a resumable upload, a multiple of 256 KiB; null: the library's default (emulator: see <see cref="EmulatorUploadChunkSize"/>).</summary>
    public int? UploadChunkSize { get; set; }

    /// <summary>
    /// Whether a ranged download is checked against the object's hash. The service sends the hash of the whole object,
    /// which the library knows not to check against a range; the emulator sends it differently and every ranged read
    /// fails. Null: checked in production, not against the emulator.
    /// </summary>
    public bool? ValidateRangedReads { get; set; }

    /// <summary>Options for every upload: the configured chunk size, and the object's hash sent so the service refuses corrupted bytes.</summary>
    public UploadObjectOptions Upload() => new() { ChunkSize = UploadChunkSize, UploadValidationMode = UploadValidationMode.RejectAndThrow };

    /// <summary>Options for a download of the whole object (hash checked) or of a range.</summary>
    public DownloadObjectOptions Download(RangeHeaderValue? range = null) => range is null
        ? new() { ChunkSize = DownloadChunkSize, DownloadValidationMode = DownloadValidationMode.Always }
        : new() { ChunkSize = DownloadChunkSize, Range = range, DownloadValidationMode = ValidateRangedReads == false ? DownloadValidationMode.Never : DownloadValidationMode.Automatic };

    /// <summary>
    /// Options for a download whose caller checks the bytes itself: the snapshot store, which checks the SHA-256 of its
    /// blobs and manifests against the names they are stored under (a stronger check of the same bytes). The library's
    /// CRC-32C, table-driven, costs 10 to 15 ms per MiB on this machine (eng/bench/README.md).
    /// </summary>
    public static DownloadObjectOptions DownloadCheckedByCaller() => new() { ChunkSize = DownloadChunkSize, DownloadValidationMode = DownloadValidationMode.Never };

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (UploadChunkSize is { } chunk && (chunk <= 0 || chunk % UploadObjectOptions.MinimumChunkSize != 0))
        {
            yield return new ValidationResult(
                $"GoogleCloud:Storage:UploadChunkSize must be a positive multiple of {UploadObjectOptions.MinimumChunkSize} bytes.", [nameof(UploadChunkSize)]);
        }
        if (Endpoint is { } endpoint && (!endpoint.IsAbsoluteUri || endpoint.Scheme is not ("http" or "https")))
        {
            yield return new ValidationResult("GoogleCloud:Storage:Endpoint must be an absolute http(s) URL.", [nameof(Endpoint)]);
        }
    }
}
