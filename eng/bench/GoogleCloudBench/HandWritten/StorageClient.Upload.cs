using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace GoogleCloudBench.HandWritten;

public sealed partial class StorageClient
{
    private const HttpStatusCode ResumeIncomplete = (HttpStatusCode)308;

    /// <summary>
    /// Uploads <paramref name="content"/> from its current position to its end. Up to the resumable threshold it
    /// goes in one request (media, or multipart when there is custom metadata); above it, or when a non-seekable
    /// stream does not end within one chunk, through a resumable session. The CRC-32C of the bytes sent is compared
    /// with the one the service computed; on a mismatch the object is deleted and <see cref="StorageIntegrityException"/> thrown.
    /// </summary>
    public async Task<StorageObject> UploadAsync(string bucket, string name, Stream content, string? contentType = null, UploadOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        StorageUris.Bucket(bucket);
        StorageUris.ObjectName(name);
        var mediaType = ParseContentType(contentType);
        using var source = await UploadSource.FromStreamAsync(content, _options.ChunkSize, cancellationToken);
        return await UploadAsync(bucket, name, source, mediaType, options, cancellationToken);
    }

    /// <inheritdoc cref="UploadAsync(string, string, Stream, string?, UploadOptions?, CancellationToken)"/>
    public async Task<StorageObject> UploadAsync(string bucket, string name, ReadOnlyMemory<byte> content, string? contentType = null, UploadOptions? options = null, CancellationToken cancellationToken = default)
    {
        StorageUris.Bucket(bucket);
        StorageUris.ObjectName(name);
        var mediaType = ParseContentType(contentType);
        using var source = UploadSource.FromMemory(content);
        return await UploadAsync(bucket, name, source, mediaType, options, cancellationToken);
    }

    private async Task<StorageObject> UploadAsync(string bucket, string name, UploadSource source, MediaTypeHeaderValue contentType, UploadOptions? options, CancellationToken cancellationToken)
    {
        var description = Describe("Upload of", bucket, name);
        var uploaded = source.Length is { } length && length <= _options.ResumableThreshold
            ? options?.Metadata is { Count: > 0 }
                ? await UploadMultipartAsync(bucket, name, source, length, contentType, options, description, cancellationToken)
                : await UploadMediaAsync(bucket, name, source, length, contentType, options, description, cancellationToken)
            : await UploadResumableAsync(bucket, name, source, contentType, options, description, cancellationToken);
        await VerifyUploadAsync(uploaded, source, description, cancellationToken);
        return uploaded;
    }

    private async Task<StorageObject> UploadMediaAsync(string bucket, string name, UploadSource source, long length, MediaTypeHeaderValue contentType,
        UploadOptions? options, string description, CancellationToken cancellationToken)
    {
        var uri = _uris.Upload(bucket, StorageUris.Query(
            ("uploadType", "media"), ("name", name), ("ifGenerationMatch", StorageUris.Number(options?.IfGenerationMatch))));
        using var response = await SendAsync(() =>
        {
            var body = source.CreateContent(0, length);
            body.Headers.ContentType = contentType;
            return new HttpRequestMessage(HttpMethod.Post, uri) { Content = body };
        }, description, cancellationToken);
        await EnsureSuccessAsync(response, description, cancellationToken);
        return await ReadObjectAsync(response, bucket, name, cancellationToken);
    }

    /// <summary>
    /// <c>multipart/related</c>: a JSON metadata part, then the bytes. The framing is written here rather than by
    /// <see cref="MultipartContent"/> so the body has an exact length and each part exactly one header.
    /// </summary>
    private async Task<StorageObject> UploadMultipartAsync(string bucket, string name, UploadSource source, long length, MediaTypeHeaderValue contentType,
        UploadOptions? options, string description, CancellationToken cancellationToken)
    {
        var uri = _uris.Upload(bucket, StorageUris.Query(
            ("uploadType", "multipart"), ("ifGenerationMatch", StorageUris.Number(options?.IfGenerationMatch))));
        var boundary = "storydream_" + Guid.NewGuid().ToString("N");
        var metadata = JsonSerializer.Serialize(new UploadMetadata(name, contentType.ToString(), options?.Metadata), StorageJsonContext.Default.UploadMetadata);
        var prefix = Encoding.UTF8.GetBytes(
            $"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n--{boundary}\r\nContent-Type: {contentType}\r\n\r\n");
        var suffix = Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n");
        using var response = await SendAsync(() =>
        {
            var body = source.CreateContent(0, length, prefix, suffix);
            body.Headers.ContentType = new MediaTypeHeaderValue("multipart/related") { Parameters = { new NameValueHeaderValue("boundary", boundary) } };
            return new HttpRequestMessage(HttpMethod.Post, uri) { Content = body };
        }, description, cancellationToken);
        await EnsureSuccessAsync(response, description, cancellationToken);
        return await ReadObjectAsync(response, bucket, name, cancellationToken);
    }

    /// <summary>
    /// The resumable protocol: open a session, then PUT bytes with <c>Content-Range</c>. The service answers 308 with
    /// the bytes it has persisted until the last request, which carries the total and gets the object back. After a
    /// failed request the session is asked how far it got, and the upload resumes from there.
    /// </summary>
    private async Task<StorageObject> UploadResumableAsync(string bucket, string name, UploadSource source, MediaTypeHeaderValue contentType,
        UploadOptions? options, string description, CancellationToken cancellationToken)
    {
        var session = await StartResumableSessionAsync(bucket, name, source.Length, contentType, options, description, cancellationToken);
        long offset = 0;
        var failures = 0;
        while (true)
        {
            var count = await source.PrepareAsync(offset, cancellationToken);
            var (response, failure) = await PutResumableAsync(session, source, offset, count, cancellationToken);
            using (response)
            {
                if (response?.StatusCode is HttpStatusCode.OK or HttpStatusCode.Created)
                {
                    return await ReadObjectAsync(response, bucket, name, cancellationToken);
                }
                if (response?.StatusCode == ResumeIncomplete && ReadPersisted(response) is var persisted && persisted > offset)
                {
                    offset = persisted;
                    failures = 0;
                    continue;
                }
                if (response is not null && response.StatusCode != ResumeIncomplete && !IsTransient(response.StatusCode))
                {
                    // 404/410: the session expired or was cancelled; other 4xx: the request was wrong. Retrying helps neither.
                    await EnsureSuccessAsync(response, description, cancellationToken);
                    throw new StorageException($"{description}: unexpected HTTP {(int)response.StatusCode} from the upload session.", response.StatusCode);
                }
                var reason = failure?.Message ?? $"HTTP {(int?)response?.StatusCode} without progress";
                if (++failures >= _options.MaxAttempts)
                {
                    throw new StorageException($"{description} failed after {failures} attempts: {reason}", response?.StatusCode, null, failure);
                }
                LogRetry(_logger, description, failures, reason);
            }
            await DelayAsync(failures, null, cancellationToken);
            var status = await QueryResumableAsync(session, source.Length, description, cancellationToken);
            if (status.Completed is { } completed)
            {
                return completed.ToStorageObject(bucket, name);
            }
            offset = status.Persisted;
        }
    }

    /// <summary>One PUT of <paramref name="count"/> bytes from <paramref name="offset"/>; a network failure is returned, not thrown.</summary>
    private async Task<(HttpResponseMessage? Response, Exception? Failure)> PutResumableAsync(Uri session, UploadSource source, long offset, long count, CancellationToken cancellationToken)
    {
        var total = source.Length?.ToString(CultureInfo.InvariantCulture) ?? "*";
        var contentRange = count > 0
            ? FormattableString.Invariant($"bytes {offset}-{offset + count - 1}/{total}")
            : $"bytes */{total}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = source.CreateContent(offset, count) };
        request.Content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
        try
        {
            return (await _http.SendAsync(request, timeout.Token), null);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return (null, exception);
        }
    }

    private async Task<Uri> StartResumableSessionAsync(string bucket, string name, long? length, MediaTypeHeaderValue contentType,
        UploadOptions? options, string description, CancellationToken cancellationToken)
    {
        var uri = _uris.Upload(bucket, StorageUris.Query(
            ("uploadType", "resumable"), ("name", name), ("ifGenerationMatch", StorageUris.Number(options?.IfGenerationMatch))));
        var metadata = new UploadMetadata(name, contentType.ToString(), options?.Metadata);
        using var response = await SendAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = JsonContent.Create(metadata, StorageJsonContext.Default.UploadMetadata) };
            request.Headers.TryAddWithoutValidation("X-Upload-Content-Type", contentType.ToString());
            if (length is { } known)
            {
                request.Headers.TryAddWithoutValidation("X-Upload-Content-Length", known.ToString(CultureInfo.InvariantCulture));
            }
            return request;
        }, description, cancellationToken);
        await EnsureSuccessAsync(response, description, cancellationToken);
        var session = response.Headers.Location ?? throw new StorageException($"{description}: the service opened no upload session.");
        session = session.IsAbsoluteUri ? session : new Uri(uri, session);
        // The session URL is sent our credentials too: it must be on the service we asked, nowhere else.
        if (Uri.Compare(session, _uris.UploadRoot, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) != 0)
        {
            throw new StorageException($"{description}: the upload session is on another host ({session.GetLeftPart(UriPartial.Authority)}).");
        }
        return session;
    }

    /// <summary>Asks an upload session how many bytes it holds, or for the object if it already completed.</summary>
    private async Task<(long Persisted, ObjectResource? Completed)> QueryResumableAsync(Uri session, long? length, string description, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Put, session) { Content = new ByteArrayContent([]) };
            request.Content.Headers.TryAddWithoutValidation("Content-Range", $"bytes */{length?.ToString(CultureInfo.InvariantCulture) ?? "*"}");
            return request;
        }, description, cancellationToken);
        if (response.StatusCode == ResumeIncomplete)
        {
            return (ReadPersisted(response), null);
        }
        await EnsureSuccessAsync(response, description, cancellationToken);
        var resource = await response.Content.ReadFromJsonAsync(StorageJsonContext.Default.ObjectResource, cancellationToken);
        return (0, resource ?? throw new StorageException($"{description}: the service returned an empty body."));
    }

    /// <summary>308 carries <c>Range: bytes=0-N</c> for N+1 persisted bytes, or no Range when none are.</summary>
    private static long ReadPersisted(HttpResponseMessage response)
    {
        if (response.Headers.NonValidated.TryGetValues("Range", out var values) && values.FirstOrDefault() is { } range)
        {
            var dash = range.LastIndexOf('-');
            if (range.StartsWith("bytes=0-", StringComparison.Ordinal) && long.TryParse(range.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var last))
            {
                return last + 1;
            }
            throw new StorageException($"The upload session answered with an unreadable Range header '{range}'.");
        }
        return 0;
    }

    private async Task VerifyUploadAsync(StorageObject uploaded, UploadSource source, string description, CancellationToken cancellationToken)
    {
        string? problem = null;
        if (source.Length is not { } length || source.Checksummed != length)
        {
            problem = $"only {source.Checksummed} bytes were checksummed";
        }
        else if (uploaded.Size != length)
        {
            problem = $"the service stored {uploaded.Size} bytes, {length} were sent";
        }
        else if (uploaded.Crc32c != source.Crc32c)
        {
            problem = $"the service computed CRC-32C {(uploaded.Crc32c is { } crc ? Crc32C.ToBase64(crc) : "(none)")}, the bytes sent have {Crc32C.ToBase64(source.Crc32c)}";
        }
        if (problem is null)
        {
            return;
        }
        // Only the generation just written is removed, never a newer one another writer may have put there since.
        string cleanup;
        try
        {
            await DeleteAsync(uploaded.Bucket, uploaded.Name, uploaded.Generation, cancellationToken);
            cleanup = "the corrupted object was deleted";
        }
        catch (StorageException exception)
        {
            cleanup = $"deleting the corrupted object failed too: {exception.Message}";
        }
        throw new StorageIntegrityException($"{description} (generation {uploaded.Generation}) is corrupt: {problem}; {cleanup}.");
    }
}
