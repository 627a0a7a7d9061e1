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
/// Flips one byte of every upload body after the client has written (and checksummed) it, so the emulator
/// stores other bytes than the client sent.
/// </summary>
internal sealed class CorruptUploadHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        var carriesObjectBytes = uri.AbsolutePath.StartsWith("/upload/", StringComparison.Ordinal)
            && (request.Method == HttpMethod.Put || uri.Query.Contains("uploadType=media", StringComparison.Ordinal));
        if (carriesObjectBytes && request.Content is not null)
        {
            var bytes = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            if (bytes.Length > 0)
            {
                bytes[bytes.Length / 2] ^= 0x01;
                var corrupted = new ByteArrayContent(bytes);
                foreach (var header in request.Content.Headers)
                {
                    corrupted.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
                request.Content = corrupted;
            }
        }
        return await base.SendAsync(request, cancellationToken);
    }
}

/// <summary>Answers the first <paramref name="failures"/> requests with <paramref name="status"/> without passing them on.</summary>
internal sealed class FailFirstHandler(HttpMessageHandler inner, int failures, HttpStatusCode status = HttpStatusCode.ServiceUnavailable) : DelegatingHandler(inner)
{
    private int _seen;

    public int Seen => Volatile.Read(ref _seen);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _seen) <= failures)
        {
            return Task.FromResult(new HttpResponseMessage(status) { RequestMessage = request, Content = new StringContent("injected failure") });
        }
        return base.SendAsync(request, cancellationToken);
    }
}
