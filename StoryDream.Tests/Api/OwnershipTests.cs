using System.Net;
using System.Net.Http.Json;
using StoryDream.Snapshots;

namespace StoryDream.Tests.Api;

/// <summary>Another user's project answers exactly like one that does not exist, on every route.</summary>
public sealed class OwnershipTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string> Routes => new()
    {
        { "GET", "/api/projects/{id}" },
        { "PATCH", "/api/projects/{id}" },
        { "DELETE", "/api/projects/{id}" },
        { "GET", "/api/projects/{id}/messages" },
        { "GET", "/api/projects/{id}/snapshots" },
        { "POST", "/api/projects/{id}/snapshots/{snap}/restore" },
        { "GET", "/api/projects/{id}/files" },
        { "GET", "/api/projects/{id}/files?snapshot={snap}" },
        { "GET", "/api/projects/{id}/files/src/App.tsx" },
        { "GET", "/api/projects/{id}/files/src/App.tsx?snapshot={snap}" },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Routes))]
    public async Task Route_AnotherUsersProject_404LikeUnknown(string method, string route)
    {
        using var owner = api.Client(ApiFixture.NewUser());
        using var intruder = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(owner);
        var path = route.Replace("{id}", project.Id, StringComparison.Ordinal).Replace("{snap}", project.HeadSnapshotId, StringComparison.Ordinal);
        var unknown = route.Replace("{id}", Guid.NewGuid().ToString("D"), StringComparison.Ordinal).Replace("{snap}", project.HeadSnapshotId, StringComparison.Ordinal);

        var response = await intruder.SendAsync(Request(method, path), Ct);
        var missing = await intruder.SendAsync(Request(method, unknown), Ct);

        var body = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        var missingBody = await ProblemAssert.IsProblemAsync(missing, HttpStatusCode.NotFound, "not-found");
        Assert.Equal(missingBody.GetProperty("detail").GetString(), body.GetProperty("detail").GetString());
        // The owner's project is untouched by whatever the intruder tried.
        var mine = await owner.GetAsync($"/api/projects/{project.Id}", Ct);
        Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
        Assert.Equal(project.Name, (await mine.Content.ReadFromJsonAsync<StoryDream.Api.Projects.ProjectResponse>(Ct))!.Name);
    }

    [Fact(Timeout = 60_000)]
    public async Task Files_SnapshotOfAnotherProject_404()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var mine = await ApiFixture.CreateProjectAsync(client);
        var theirs = await ApiFixture.CreateProjectAsync(api.Client(ApiFixture.NewUser()));
        var store = api.Service<ISnapshotStore>();
        var tree = (await store.ReadTreeAsync(theirs.Id, theirs.HeadSnapshotId, Ct))!;
        var sha = await store.PutBlobAsync("secret"u8.ToArray(), Ct);
        var secret = SnapshotManifest.Create([.. tree.Entries, new ManifestEntry("src/secret.ts", sha, 6)]);
        await store.CommitAsync(new SnapshotCommit(theirs.Id, theirs.HeadSnapshotId, secret, SnapshotAuthors.Agent, "secret"), Ct);

        var list = await client.GetAsync($"/api/projects/{mine.Id}/files?snapshot={secret.Id}", Ct);
        var file = await client.GetAsync($"/api/projects/{mine.Id}/files/src/secret.ts?snapshot={secret.Id}", Ct);
        var restore = await client.PostAsync($"/api/projects/{mine.Id}/snapshots/{secret.Id}/restore", null, Ct);

        await ProblemAssert.IsProblemAsync(list, HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(file, HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(restore, HttpStatusCode.NotFound, "not-found");
    }

    private static HttpRequestMessage Request(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "PATCH") { request.Content = JsonContent.Create(new { name = "stolen" }); }
        return request;
    }
}
