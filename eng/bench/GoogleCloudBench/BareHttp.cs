namespace GoogleCloudBench;

/// <summary>
/// The same request as a client makes, sent by a bare HttpClient: what the HTTP stack alone costs, so a section can
/// tell the client's own overhead from HttpClient's.
/// </summary>
internal static class BareHttp
{
    public static Way Way(HttpClient http, HttpMethod method, string url, byte[]? body = null, string contentType = "application/json") =>
        GoogleCloudBench.Way.InProcess("bare HttpClient", () => SendAsync(http, method, url, body, contentType));

    /// <summary>Sends with the emulators' owner token and reads the response to the end, as curl's <c>output = /dev/null</c> does.</summary>
    public static async Task SendAsync(HttpClient http, HttpMethod method, string url, byte[]? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new("Bearer", "owner");
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new(contentType);
        }
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var content = await response.Content.ReadAsStreamAsync();
        await content.CopyToAsync(Stream.Null);
    }
}
