using System.Net;
using System.Net.Http.Json;
using StoryDream.Api.Projects;

namespace StoryDream.Tests.Api;

public sealed class ProjectsApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Create_ValidRequest_201WithLocationETagAndTemplateHead()
    {
        using var client = api.Client(ApiFixture.NewUser());

        var response = await client.PostAsJsonAsync("/api/projects",
            new { name = "  Launch video ", description = "For the launch", videoSettings = new { width = 1080, height = 1920 } }, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var project = (await response.Content.ReadFromJsonAsync<ProjectResponse>(Ct))!;
        Assert.Equal($"/api/projects/{project.Id}", response.Headers.Location?.OriginalString);
        Assert.NotNull(response.Headers.ETag);
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.Equal("Launch video", project.Name);
        Assert.Equal("For the launch", project.Description);
        Assert.Equal(new VideoSettingsResponse(1080, 1920, 30, 300), project.VideoSettings);
        Assert.Equal("default", project.TemplateId);
        var template = await api.Service<StoryDream.Api.Snapshots.TemplateCatalog>().GetAsync("default", Ct);
        Assert.Equal(template.SnapshotId, project.HeadSnapshotId);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", project.Id);
    }

    [Fact(Timeout = 60_000)]
    public async Task Get_OwnProject_ReturnsItWithSameETag()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var created = await client.PostAsJsonAsync("/api/projects", new { name = "A" }, Ct);
        var project = (await created.Content.ReadFromJsonAsync<ProjectResponse>(Ct))!;

        var response = await client.GetAsync($"/api/projects/{project.Id}", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(created.Headers.ETag, response.Headers.ETag);
        var read = (await response.Content.ReadFromJsonAsync<ProjectResponse>(Ct))!;
        Assert.Equal(project.CreatedAt.UtcTicks, read.CreatedAt.UtcTicks);
        Assert.Equal(project, read);
    }
}
