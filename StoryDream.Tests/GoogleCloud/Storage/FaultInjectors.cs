using System.Net;

namespace StoryDream.Tests.GoogleCloud.Storage;

// Fault injectors sit between the client and the real emulator: they damage or drop real traffic, they do not
// stand in for Cloud Storage.

/// <summary>Flips one byte of every object download (<c>alt=media</c>) on its way back to the client.</summary>
internal sealed class CorruptDownloadHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (!request.RequestUri!.Query.Contains("alt=media", StringComparison.Ordinal) || !response.IsSuccessStatusCode)
        {
            return response;
        }
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        bytes[bytes.Length / 2] ^= 0x01;
        var corrupted = new ByteArrayContent(bytes);
        foreach (var header in response.Content.Headers)
        {
            corrupted.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
        response.Content = corrupted;
        return response;
    }
}

/// <summary>
/// Answers the first <paramref name="failures"/> requests with <paramref name="status"/> without passing them on. The
/// count is shared by every handler <see cref="Wrap"/> makes: the library may build more than one HTTP client.
/// </summary>
internal sealed class FailFirst(int failures, HttpStatusCode status = HttpStatusCode.ServiceUnavailable)
{
    private readonly int _failures = failures;
    private readonly HttpStatusCode _status = status;
    private int _seen;

    public int Seen => Volatile.Read(ref _seen);

    public HttpMessageHandler Wrap(HttpMessageHandler inner) => new Handler(this, inner);

    private sealed class Handler(FailFirst owner, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref owner._seen) <= owner._failures
                ? Task.FromResult(new HttpResponseMessage(owner._status) { RequestMessage = request, Content = new StringContent("injected failure") })
                : base.SendAsync(request, cancellationToken);
    }
}

/// <summary>
/// Flips one byte of every upload's body (the resumable upload's <c>PUT</c> of the bytes) on its way to the server, and
/// keeps the <c>x-goog-hash</c> each such request carried: the hash the library computed from the bytes it was given.
/// </summary>
internal sealed class CorruptUpload
{
    private readonly List<string> _hashesSent = [];

    public IReadOnlyList<string> HashesSent
    {
        get { lock (_hashesSent) { return [.. _hashesSent]; } }
    }

    public HttpMessageHandler Wrap(HttpMessageHandler inner) => new Handler(this, inner);

    private sealed class Handler(CorruptUpload owner, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Put && request.Content is { } content)
            {
                lock (owner._hashesSent)
                {
                    owner._hashesSent.AddRange(request.Headers.TryGetValues("x-goog-hash", out var values) ? values : []);
                }
                var bytes = await content.ReadAsByteArrayAsync(cancellationToken);
                bytes[bytes.Length / 2] ^= 0x01;
                var corrupted = new ByteArrayContent(bytes);
                foreach (var header in content.Headers)
                {
                    corrupted.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
                request.Content = corrupted;
            }
            return await base.SendAsync(request, cancellationToken);
        }
    }
}
