using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

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

    /// <summary>
    /// The studio's types of the HTTP contract are generated from <c>web/openapi.json</c> (openapi-typescript), so that copy
    /// must be the document the API serves. <c>STORYDREAM_UPDATE_OPENAPI=1</c> rewrites it.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task Document_IsTheStudiosCommittedCopy()
    {
        using var client = api.Client();
        var copy = Path.Combine(Infrastructure.RepositoryPaths.Root, "web", "openapi.json");

        var served = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json", Ct))!;
        // The servers list names this test's own address.
        served.AsObject().Remove("servers");
        var text = served.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (Environment.GetEnvironmentVariable("STORYDREAM_UPDATE_OPENAPI") == "1") { await File.WriteAllTextAsync(copy, text, Ct); }

        Assert.True(text == await File.ReadAllTextAsync(copy, Ct),
            "web/openapi.json differs from the API's document: run the test with STORYDREAM_UPDATE_OPENAPI=1, then npm run build in web/.");
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
