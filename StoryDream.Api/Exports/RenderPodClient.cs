using System.Net.Http.Headers;
using System.Text.Json.Serialization;
using StoryDream.Sessions;

namespace StoryDream.Api.Exports;

/// <summary>What a render pod reports on <c>GET /render</c>. Untrusted: read through <see cref="RenderPodClient"/>, which bounds it.</summary>
internal sealed record RenderStatus(
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("progress")] int Progress,
    [property: JsonPropertyName("updatedAt")] long UpdatedAt,
    [property: JsonPropertyName("composition")] RenderedComposition? Composition,
    [property: JsonPropertyName("size")] long? Size,
    [property: JsonPropertyName("error")] string? Error);

internal sealed record RenderedComposition(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("width")] int Width,
    [property: JsonPropertyName("height")] int Height,
    [property: JsonPropertyName("fps")] double Fps,
    [property: JsonPropertyName("durationInFrames")] int DurationInFrames)
{
    public long DurationMs => Fps > 0 ? (long)Math.Round(DurationInFrames * 1000 / Fps) : 0;
}

internal sealed record RenderRequest(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("composition")] string? Composition,
    [property: JsonPropertyName("codec")] string Codec = "h264",
    [property: JsonPropertyName("crf")] int? Crf = null,
    [property: JsonPropertyName("frame")] int Frame = 0,
    [property: JsonPropertyName("snapshotId")] string? SnapshotId = null);

/// <summary>The render API of a render pod (<c>:3003</c>). Its own client: a render's output is streamed for as long as it takes.</summary>
internal sealed class RenderPodClient : IDisposable
{
    private const int MaxErrorLength = 4000;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>
    /// Null when the pod at <paramref name="renderUrl"/> proves it is the one started for <paramref name="podId"/>, else why
    /// not. Asked before the pod is hydrated or sent its secret: a dead pod's address may lead to another tenant's pod.
    /// </summary>
    public async Task<string?> VerifyAsync(string podId, Uri renderUrl, string podSecret, CancellationToken cancellationToken)
    {
        using var timeout = WithTimeout(cancellationToken);
        return await PodIdentity.VerifyAsync(_http, renderUrl, podId, podSecret, timeout.Token);
    }

    public async Task StartAsync(HydratedRenderPod pod, RenderRequest request, CancellationToken cancellationToken)
    {
        using var timeout = WithTimeout(cancellationToken);
        using var message = Request(HttpMethod.Post, pod, "render");
        message.Content = JsonContent.Create(request);
        using var response = await _http.SendAsync(message, timeout.Token);
        await EnsureSuccessAsync(response, "start the render", timeout.Token);
    }

    public async Task<RenderStatus> StatusAsync(HydratedRenderPod pod, CancellationToken cancellationToken)
    {
        using var timeout = WithTimeout(cancellationToken);
        using var message = Request(HttpMethod.Get, pod, "render");
        using var response = await _http.SendAsync(message, timeout.Token);
        await EnsureSuccessAsync(response, "report", timeout.Token);
        var status = await response.Content.ReadFromJsonAsync<RenderStatus>(timeout.Token)
            ?? throw new HttpRequestException("The render pod answered its status with null.");
        return status with
        {
            Progress = Math.Clamp(status.Progress, 0, 100),
            Error = status.Error is { Length: > MaxErrorLength } error ? error[..MaxErrorLength] : status.Error,
        };
    }

    public async Task CancelAsync(HydratedRenderPod pod, CancellationToken cancellationToken)
    {
        using var timeout = WithTimeout(cancellationToken);
        using var message = Request(HttpMethod.Post, pod, "render/cancel");
        using var response = await _http.SendAsync(message, timeout.Token);
    }

    /// <summary>The finished file; the caller disposes the response.</summary>
    public async Task<HttpResponseMessage> OpenOutputAsync(HydratedRenderPod pod, CancellationToken cancellationToken)
    {
        using var message = Request(HttpMethod.Get, pod, "render/output");
        var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        try
        {
            await EnsureSuccessAsync(response, "hand over the output", cancellationToken);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static HttpRequestMessage Request(HttpMethod method, HydratedRenderPod pod, string path) => new(method, new Uri(pod.RenderUrl, path))
    {
        Headers = { Authorization = new AuthenticationHeaderValue("Bearer", pod.PodSecret) },
    };

    private static CancellationTokenSource WithTimeout(CancellationToken cancellationToken)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        source.CancelAfter(RequestTimeout);
        return source;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode) { return; }
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        throw new HttpRequestException($"The render pod refused to {what}: {(int)response.StatusCode} {(body.Length > 500 ? body[..500] : body)}", null, response.StatusCode);
    }

    public void Dispose() => _http.Dispose();
}
