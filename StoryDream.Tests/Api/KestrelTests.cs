using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api;

/// <summary>The request body rules over a real Kestrel, where chunked bodies and length limits are the server's too.</summary>
public sealed class KestrelTests(TestServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Bodies_OverKestrel_ChunkedAcceptedAndOversizedRefused()
    {
        var api = new ApiFixture(servers) { UseKestrel = true };
        await api.InitializeAsync();
        try
        {
            using var client = api.Client(ApiFixture.NewUser());

            // JsonContent has no length: it goes chunked.
            var created = await client.PostAsJsonAsync("/api/projects", new { name = "Over Kestrel" }, Ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

            var huge = "{\"name\":\"" + new string('a', 1024 * 1024) + "\"}";
            using var declared = new StringContent(huge, Encoding.UTF8, "application/json");
            await ProblemAssert.IsProblemAsync(await client.PostAsync("/api/projects", declared, Ct), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");

            using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge)));
            chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/projects") { Content = chunked };
            request.Headers.TransferEncodingChunked = true;
            using var refused = await client.SendAsync(request, Ct);
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        }
        finally
        {
            await api.DisposeAsync();
        }
    }
}
