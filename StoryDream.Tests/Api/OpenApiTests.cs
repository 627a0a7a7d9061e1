using System.Net;
using System.Text.Json;

namespace StoryDream.Tests.Api;

public sealed class OpenApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Document_Anonymous_DescribesTheRoutesAndBothCredentials()
    {
        using var client = api.Client();

        var response = await client.GetAsync("/openapi/v1.json", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/api/projects", paths);
        Assert.Contains("/api/projects/{id}/snapshots/{snapshotId}/restore", paths);
        Assert.Contains("/api/keys", paths);
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("bearer", schemes.GetProperty("Bearer").GetProperty("scheme").GetString());
        Assert.Equal("X-Api-Key", schemes.GetProperty("ApiKey").GetProperty("name").GetString());
    }

    [Fact(Timeout = 60_000)]
    public async Task ScalarUi_InDevelopment_Served()
    {
        using var client = api.Client();

        var response = await client.GetAsync("/scalar/v1", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
    }
}
