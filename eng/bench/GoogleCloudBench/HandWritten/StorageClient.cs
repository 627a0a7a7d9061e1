using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

using StoryDream.GoogleCloud;

namespace GoogleCloudBench.HandWritten;

/// <summary>
/// Cloud Storage through its JSON API: uploads that checksum what they send, downloads that check what they
/// receive, metadata, listing, copy and delete. Transient failures (network errors, 408, 429, 5xx) are retried
/// with exponential back-off; every call is safe to repeat, because objects are written whole or not at all.
/// </summary>
public sealed partial class StorageClient
{
    /// <summary>Name of the <see cref="HttpClient"/> the client is registered with.</summary>
    public const string HttpClientName = "google-cloud-storage";

    private const int MaxErrorBodyChars = 8 * 1024;
    private readonly HttpClient _http;
    private readonly StorageClientOptions _options;
    private readonly StorageUris _uris;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public StorageClient(HttpClient http, IOptions<StorageClientOptions> options, IOptions<GoogleCloudOptions> cloudOptions, ILogger<StorageClient>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cloudOptions);
        _http = http;
        _options = options.Value;
        _uris = StorageUris.Create(_options.Endpoint, cloudOptions.Value.StorageEmulatorHost);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The bucket configured for the application's data.</summary>
    public string Bucket => _options.Bucket;

    /// <summary>Metadata of an object; <see cref="StorageException"/> with 404 when there is none.</summary>
    public async Task<StorageObject> GetMetadataAsync(string bucket, string name, CancellationToken cancellationToken = default)
    {
        var uri = _uris.Object(bucket, name);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), Describe("Metadata of", bucket, name), cancellationToken);
        await EnsureSuccessAsync(response, Describe("Metadata of", bucket, name), cancellationToken);
        return await ReadObjectAsync(response, bucket, name, cancellationToken);
    }

    public async Task<bool> ExistsAsync(string bucket, string name, CancellationToken cancellationToken = default)
    {
        try
        {
            await GetMetadataAsync(bucket, name, cancellationToken);
            return true;
        }
        catch (StorageException exception) when (exception.IsNotFound)
        {
            return false;
        }
    }

    /// <summary>Deletes an object; false when there was none. With <paramref name="ifGenerationMatch"/>, only that generation.</summary>
    public async Task<bool> DeleteAsync(string bucket, string name, long? ifGenerationMatch = null, CancellationToken cancellationToken = default)
    {
        var uri = _uris.Object(bucket, name, StorageUris.Query(("ifGenerationMatch", StorageUris.Number(ifGenerationMatch))));
        var description = Describe("Delete of", bucket, name);
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, uri), description, cancellationToken);
        // A retried delete whose first attempt went through also ends here.
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        await EnsureSuccessAsync(response, description, cancellationToken);
        return true;
    }

    /// <summary>Every object whose name starts with <paramref name="prefix"/>, across all pages.</summary>
    public async IAsyncEnumerable<StorageObject> ListAsync(string bucket, string? prefix = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var page in ListPagesAsync(bucket, new StorageListOptions { Prefix = prefix }, cancellationToken))
        {
            foreach (var item in page.Objects)
            {
                yield return item;
            }
        }
    }

    /// <summary>Listing page by page, with the prefixes a delimiter folds names into.</summary>
    public async IAsyncEnumerable<StorageListPage> ListPagesAsync(string bucket, StorageListOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new StorageListOptions();
        if (options.PageSize is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "PageSize must be positive.");
        }
        StorageUris.Bucket(bucket);
        var description = $"Listing of gs://{bucket}/{options.Prefix}";
        var pageToken = options.PageToken;
        // The firebase-tools emulator repeats earlier pages' prefixes on every page; the service does not.
        var seenPrefixes = new HashSet<string>(StringComparer.Ordinal);
        do
        {
            var uri = _uris.Objects(bucket, StorageUris.Query(
                ("prefix", string.IsNullOrEmpty(options.Prefix) ? null : options.Prefix),
                ("delimiter", string.IsNullOrEmpty(options.Delimiter) ? null : options.Delimiter),
                ("maxResults", StorageUris.Number(options.PageSize)),
                ("pageToken", string.IsNullOrEmpty(pageToken) ? null : pageToken)));
            ObjectList list;
            using (var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, uri), description, cancellationToken))
            {
                await EnsureSuccessAsync(response, description, cancellationToken);
                list = await response.Content.ReadFromJsonAsync(StorageJsonContext.Default.ObjectList, cancellationToken)
                    ?? throw new StorageException($"{description}: the service returned an empty body.");
            }
            var objects = (list.Items ?? []).Select(item => item.ToStorageObject(bucket, item.Name ?? "")).ToList();
            pageToken = list.NextPageToken;
            var prefixes = (list.Prefixes ?? []).Where(seenPrefixes.Add).ToList();
            yield return new StorageListPage(objects, prefixes, string.IsNullOrEmpty(pageToken) ? null : pageToken);
        }
        while (!string.IsNullOrEmpty(pageToken));
    }

    /// <summary>Copies an object inside Cloud Storage (no bytes pass through this process).</summary>
    public async Task<StorageObject> CopyAsync(string sourceBucket, string sourceName, string destinationBucket, string destinationName, CopyOptions? options = null, CancellationToken cancellationToken = default)
    {
        var description = $"Copy of gs://{sourceBucket}/{sourceName} to gs://{destinationBucket}/{destinationName}";
        string? rewriteToken = null;
        // Rewrite may take several calls for large objects across locations or storage classes.
        while (true)
        {
            var uri = _uris.Rewrite(sourceBucket, sourceName, destinationBucket, destinationName, StorageUris.Query(
                ("ifGenerationMatch", StorageUris.Number(options?.IfGenerationMatch)),
                ("rewriteToken", rewriteToken)));
            using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, uri), description, cancellationToken);
            await EnsureSuccessAsync(response, description, cancellationToken);
            var rewrite = await response.Content.ReadFromJsonAsync(StorageJsonContext.Default.RewriteResponse, cancellationToken)
                ?? throw new StorageException($"{description}: the service returned an empty body.");
            if (rewrite.Done)
            {
                return (rewrite.Resource ?? throw new StorageException($"{description}: the service returned no object."))
                    .ToStorageObject(destinationBucket, destinationName);
            }
            rewriteToken = rewrite.RewriteToken ?? throw new StorageException($"{description}: the service returned neither a result nor a token.");
        }
    }

    /// <summary>
    /// Opens an object (or a range of it) for reading as it streams in. Read to the end, a whole object is checked
    /// against its CRC-32C. A range past the end throws <see cref="StorageException"/> with 416.
    /// </summary>
    public async Task<StorageReadStream> OpenReadAsync(string bucket, string name, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        var uri = _uris.Object(bucket, name, "alt=media");
        var description = range is { } r ? $"Download of gs://{bucket}/{name} ({r.ToHeaderValue()})" : Describe("Download of", bucket, name);
        var response = await SendAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (range is { } value)
            {
                request.Headers.TryAddWithoutValidation("Range", value.ToHeaderValue());
            }
            return request;
        }, description, cancellationToken, HttpCompletionOption.ResponseHeadersRead);
        try
        {
            await EnsureSuccessAsync(response, description, cancellationToken);
            var contentLength = response.Content.Headers.ContentLength;
            if (range is { } requested)
            {
                CheckRange(response, requested, description);
            }
            var generation = ReadGeneration(response);
            var crc32c = ReadCrc32c(response);
            var verify = range is null && !IsTranscoded(response);
            if (verify && crc32c is null)
            {
                LogUnverifiable(_logger, description);
            }
            var content = await response.Content.ReadAsStreamAsync(cancellationToken);
            return new StorageReadStream(response, content, description, contentLength, generation, crc32c, verify);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Copies an object (or a range) into <paramref name="destination"/>; returns the bytes written.</summary>
    public async Task<long> DownloadAsync(string bucket, string name, Stream destination, ByteRange? range = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        await using var stream = await OpenReadAsync(bucket, name, range, cancellationToken);
        await stream.CopyToAsync(destination, cancellationToken);
        return stream.Position;
    }

    private static void CheckRange(HttpResponseMessage response, ByteRange requested, string description)
    {
        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            if (response.Content.Headers.ContentRange is { From: { } from } && from != requested.Offset)
            {
                throw new StorageException($"{description}: the service returned bytes from {from}.");
            }
            return;
        }
        // The emulator answers an unsatisfiable range with the whole object and 200; the service says 416.
        var size = response.Content.Headers.ContentLength;
        if (size is { } total && requested.Offset >= total)
        {
            throw new StorageException($"{description}: the object has only {total} bytes.", HttpStatusCode.RequestedRangeNotSatisfiable);
        }
        if (requested.Offset != 0 || (requested.Length is { } length && length < size))
        {
            throw new StorageException($"{description}: the service ignored the range and returned the whole object.");
        }
    }

    private static long ReadGeneration(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-goog-generation", out var values)
        && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var generation) ? generation : 0;

    /// <summary>Reads <c>x-goog-hash: crc32c=BASE64,md5=BASE64</c> (possibly as repeated headers).</summary>
    internal static uint? ReadCrc32c(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("x-goog-hash", out var values))
        {
            return null;
        }
        foreach (var part in values.SelectMany(value => value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            if (part.StartsWith("crc32c=", StringComparison.OrdinalIgnoreCase) && Crc32C.TryParseBase64(part["crc32c=".Length..], out var crc))
            {
                return crc;
            }
        }
        return null;
    }

    /// <summary>
    /// Objects stored gzip-encoded are decompressed on the way out to clients that do not accept gzip, and the
    /// service's checksums then describe other bytes than those received.
    /// </summary>
    private static bool IsTranscoded(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-goog-stored-content-encoding", out var stored)
        && stored.FirstOrDefault() is { } encoding && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase)
        && !response.Content.Headers.ContentEncoding.Contains(encoding, StringComparer.OrdinalIgnoreCase);

    private static string Describe(string what, string bucket, string name) => $"{what} gs://{bucket}/{name}";

    private static async Task<StorageObject> ReadObjectAsync(HttpResponseMessage response, string bucket, string name, CancellationToken cancellationToken)
    {
        var resource = await response.Content.ReadFromJsonAsync(StorageJsonContext.Default.ObjectResource, cancellationToken)
            ?? throw new StorageException($"gs://{bucket}/{name}: the service returned an empty body.");
        return resource.ToStorageObject(bucket, name);
    }

    /// <summary>
    /// Sends a request built fresh for each attempt, retrying transient failures. Each attempt has its own
    /// time limit; with <see cref="HttpCompletionOption.ResponseHeadersRead"/> it ends when the headers arrive.
    /// </summary>
    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> createRequest, string description, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = createRequest();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RequestTimeout);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, completion, timeout.Token);
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var reason = exception is OperationCanceledException ? $"no answer within {_options.RequestTimeout}" : exception.Message;
                if (attempt >= _options.MaxAttempts)
                {
                    throw new StorageException($"{description} failed after {attempt} attempts: {reason}", (exception as HttpRequestException)?.StatusCode, null, exception);
                }
                LogRetry(_logger, description, attempt, reason);
                await DelayAsync(attempt, null, cancellationToken);
                continue;
            }
            if (IsTransient(response.StatusCode) && attempt < _options.MaxAttempts)
            {
                LogRetry(_logger, description, attempt, $"HTTP {(int)response.StatusCode}");
                var retryAfter = response.Headers.RetryAfter?.Delta;
                response.Dispose();
                await DelayAsync(attempt, retryAfter, cancellationToken);
                continue;
            }
            return response;
        }
    }

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or HttpStatusCode.InternalServerError
            or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private Task DelayAsync(int attempt, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        // Exponential back-off with full jitter, as Google's retry guidance recommends; honour Retry-After if longer.
        var ceiling = _options.InitialRetryDelay * Math.Pow(2, attempt - 1);
        var delay = ceiling * Random.Shared.NextDouble();
        if (retryAfter is { } after && after > delay)
        {
            delay = after;
        }
        return Task.Delay(delay, _time, cancellationToken);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string description, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var body = await ReadErrorBodyAsync(response, cancellationToken);
        string? message = null;
        string? reason = null;
        try
        {
            var error = JsonSerializer.Deserialize(body, StorageJsonContext.Default.ErrorResponse)?.Error;
            message = error?.Message;
            reason = error?.Errors?.FirstOrDefault()?.Reason;
        }
        catch (JsonException)
        {
            message = body;
        }
        var status = (int)response.StatusCode;
        throw new StorageException(
            $"{description} failed: HTTP {status} {response.ReasonPhrase}{(string.IsNullOrWhiteSpace(message) ? "" : ": " + message.Trim())}",
            response.StatusCode, reason);
    }

    private static async Task<string> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        // The body of an error is read only so far: a hostile or broken server cannot make it fill memory.
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        var buffer = new char[MaxErrorBodyChars];
        var read = await reader.ReadBlockAsync(buffer, cancellationToken);
        return new string(buffer, 0, read);
    }

    private static MediaTypeHeaderValue ParseContentType(string? contentType)
    {
        if (contentType is null)
        {
            return new MediaTypeHeaderValue("application/octet-stream");
        }
        return MediaTypeHeaderValue.TryParse(contentType, out var parsed)
            ? parsed
            : throw new ArgumentException($"'{contentType}' is not a valid content type.", nameof(contentType));
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "{Operation}: attempt {Attempt} failed ({Reason}); retrying")]
    private static partial void LogRetry(ILogger logger, string operation, int attempt, string reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "{Operation}: the response carries no CRC-32C (x-goog-hash); the bytes cannot be verified")]
    private static partial void LogUnverifiable(ILogger logger, string operation);
}
