using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using StoryDream.Api.Snapshots;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api;

public sealed class ProjectQuotaTests(TestServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Create_PastTheProjectCount_403NamingTheLimitAndTheUse_UntilOneIsDeleted()
    {
        await using var api = await StartAsync("Projects:MaxProjectsPerUser", "2");
        using var client = api.Client(ApiFixture.NewUser());
        using var other = api.Client(ApiFixture.NewUser());
        var first = await ApiFixture.CreateProjectAsync(client, "One");
        await ApiFixture.CreateProjectAsync(client, "Two");

        var refused = await ProblemAssert.IsProblemAsync(
            await client.PostAsJsonAsync("/api/projects", new { name = "Three" }, Ct), HttpStatusCode.Forbidden, "quota-exceeded");
        var fork = await client.PostAsync($"/api/projects/{first.Id}/snapshots/{first.HeadSnapshotId}/fork", null, Ct);

        Assert.Equal("Projects:MaxProjectsPerUser", refused.GetProperty("limit").GetString());
        Assert.Equal(2, refused.GetProperty("max").GetInt64());
        Assert.Equal(2, refused.GetProperty("used").GetInt64());
        await ProblemAssert.IsProblemAsync(fork, HttpStatusCode.Forbidden, "quota-exceeded");
        Assert.Equal(HttpStatusCode.Created, (await other.PostAsJsonAsync("/api/projects", new { name = "Theirs" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/projects/{first.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/projects", new { name = "Three" }, Ct)).StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Create_PastTheStorageLimit_403NamingTheLimitAndTheBytesUsed()
    {
        long templateBytes;
        await using (var probe = await StartAsync())
        {
            templateBytes = (await probe.Service<TemplateCatalog>().GetAsync(TemplateCatalog.DefaultTemplateId, Ct)).TotalBytes;
        }
        await using var api = await StartAsync("Projects:MaxStorageBytesPerUser", (2 * templateBytes - 1).ToString(CultureInfo.InvariantCulture));
        using var client = api.Client(ApiFixture.NewUser());
        await ApiFixture.CreateProjectAsync(client, "Fits");

        var refused = await ProblemAssert.IsProblemAsync(
            await client.PostAsJsonAsync("/api/projects", new { name = "Does not fit" }, Ct), HttpStatusCode.Forbidden, "quota-exceeded");

        Assert.Equal("Projects:MaxStorageBytesPerUser", refused.GetProperty("limit").GetString());
        Assert.Equal(2 * templateBytes - 1, refused.GetProperty("max").GetInt64());
        Assert.Equal(templateBytes, refused.GetProperty("used").GetInt64());
    }

    private async Task<ApiFixture> StartAsync(string? setting = null, string? value = null)
    {
        var api = new ApiFixture(servers);
        if (setting is not null) { api.Settings[setting] = value; }
        await api.InitializeAsync();
        return api;
    }
}
