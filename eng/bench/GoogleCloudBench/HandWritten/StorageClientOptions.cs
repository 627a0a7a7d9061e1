using System.ComponentModel.DataAnnotations;

namespace GoogleCloudBench.HandWritten;

/// <summary>Tuning of <see cref="StorageClient"/>, bound from <c>GoogleCloud:Storage</c>.</summary>
public sealed class StorageClientOptions : IValidatableObject
{
    public const string SectionName = "GoogleCloud:Storage";

    /// <summary>Resumable uploads send their bytes in multiples of this (the JSON API's rule).</summary>
    public const int ChunkGranularity = 256 * 1024;

    /// <summary>The bucket the application keeps its data in.</summary>
    [Required]
    public string Bucket { get; set; } = "storydream-data";

    /// <summary>Service root in production; ignored when a Storage emulator host is configured.</summary>
    [Required]
    public Uri Endpoint { get; set; } = new("https://storage.googleapis.com/");

    /// <summary>Objects up to this size go in one request (media or multipart); larger ones use a resumable session.</summary>
    [Range(0, int.MaxValue)]
    public int ResumableThreshold { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// How much of a non-seekable stream is held in memory per resumable request, a multiple of 256 KiB.
    /// Seekable streams and memory are sent in one request and resumed from where the service stopped.
    /// </summary>
    [Range(ChunkGranularity, int.MaxValue)]
    public int ChunkSize { get; set; } = 8 * 1024 * 1024;

    /// <summary>Attempts per call on transient failures (network errors, 408, 429, 5xx), with exponential back-off.</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 4;

    /// <summary>First back-off delay; doubles on each retry, with jitter.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Limit on one HTTP exchange (a whole single-request upload, or a download's response headers).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(10);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ChunkSize % ChunkGranularity != 0)
        {
            yield return new ValidationResult($"ChunkSize must be a multiple of {ChunkGranularity} bytes.", [nameof(ChunkSize)]);
        }
        if (ResumableThreshold > ChunkSize)
        {
            yield return new ValidationResult("ResumableThreshold must not exceed ChunkSize.", [nameof(ResumableThreshold)]);
        }
        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != Uri.UriSchemeHttps && Endpoint.Scheme != Uri.UriSchemeHttp))
        {
            yield return new ValidationResult("Endpoint must be an absolute http(s) URL.", [nameof(Endpoint)]);
        }
        if (InitialRetryDelay < TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult("InitialRetryDelay must not be negative and RequestTimeout must be positive.", [nameof(RequestTimeout)]);
        }
    }
}
