using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Google.Cloud.Storage.V1;
using StoryDream.Api.Http;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;
using StoryDream.Api.Snapshots;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.Snapshots;
using StoryDream.Tests.GoogleCloud.Storage;

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
        var template = await api.Service<TemplateCatalog>().GetAsync("default", Ct);
        Assert.Equal(template.SnapshotId, project.HeadSnapshotId);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", project.Id);
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_NothingCopied_OnlyTheProjectAndItsFirstHistoryEntry()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var storage = api.Service<StorageClient>();

        var project = await ApiFixture.CreateProjectAsync(client);

        var objects = await storage.ListAsync(api.Bucket, $"repos/{project.Id}/", Ct).ToListAsync(Ct);
        Assert.Empty(objects);
        var entries = await api.Service<FirestoreClient>().ListDocumentsAsync<object>($"projects/{project.Id}/snapshots", cancellationToken: Ct);
        Assert.Equal([project.HeadSnapshotId], entries.Documents.Select(d => d.Id));
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_BoundaryValues_Accepted()
    {
        using var client = api.Client(ApiFixture.NewUser());

        var low = await client.PostAsJsonAsync("/api/projects",
            new { name = "x", videoSettings = new { width = 16, height = 16, fps = 1, durationInFrames = 1 } }, Ct);
        var high = await client.PostAsJsonAsync("/api/projects",
            new { name = new string('n', 100), videoSettings = new { width = 7680, height = 7680, fps = 120, durationInFrames = 108_000 } }, Ct);

        Assert.Equal(HttpStatusCode.Created, low.StatusCode);
        Assert.Equal(HttpStatusCode.Created, high.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_MissingName_400NamingName()
    {
        using var client = api.Client(ApiFixture.NewUser());

        await ProblemAssert.ValidationAsync(await client.PostAsJsonAsync("/api/projects", new { description = "d" }, Ct), "name");
        await ProblemAssert.ValidationAsync(await client.PostAsJsonAsync("/api/projects", new { name = "   " }, Ct), "name");
        await ProblemAssert.ValidationAsync(await client.PostAsJsonAsync("/api/projects", new { name = new string('n', 101) }, Ct), "name");
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_VideoSettingsOutOfRange_400NamingEachField()
    {
        using var client = api.Client(ApiFixture.NewUser());

        var response = await client.PostAsJsonAsync("/api/projects",
            new { name = "ok", videoSettings = new { width = 15, height = 7681, fps = 0, durationInFrames = 108_001 } }, Ct);

        await ProblemAssert.ValidationAsync(response,
            "videoSettings.width", "videoSettings.height", "videoSettings.fps", "videoSettings.durationInFrames");
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_UnknownTemplate_400NamingTemplateId()
    {
        using var client = api.Client(ApiFixture.NewUser());

        await ProblemAssert.ValidationAsync(await client.PostAsJsonAsync("/api/projects", new { name = "ok", templateId = "../etc" }, Ct), "templateId");
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_WrongJsonType_400NamingField()
    {
        using var client = api.Client(ApiFixture.NewUser());
        using var body = new StringContent("{\"name\":\"ok\",\"videoSettings\":{\"width\":\"wide\"}}", Encoding.UTF8, "application/json");

        await ProblemAssert.ValidationAsync(await client.PostAsync("/api/projects", body, Ct), "videoSettings.width");
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_MalformedJson_400Problem()
    {
        using var client = api.Client(ApiFixture.NewUser());
        using var body = new StringContent("{\"name\":", Encoding.UTF8, "application/json");

        var response = await client.PostAsync("/api/projects", body, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_BodyOverOneMegabyte_413()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var huge = "{\"name\":\"" + new string('a', 1024 * 1024) + "\"}";

        using var declared = new StringContent(huge, Encoding.UTF8, "application/json");
        await ProblemAssert.IsProblemAsync(await client.PostAsync("/api/projects", declared, Ct), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");

        // Without a Content-Length (chunked), the limit holds as the body is read.
        using var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/projects") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        await ProblemAssert.IsProblemAsync(await client.SendAsync(request, Ct), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
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
        Assert.Equal(project, await response.Content.ReadFromJsonAsync<ProjectResponse>(Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Get_IfNoneMatchCurrentETag_304()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var created = await client.PostAsJsonAsync("/api/projects", new { name = "A" }, Ct);
        using var request = new HttpRequestMessage(HttpMethod.Get, created.Headers.Location);
        request.Headers.IfNoneMatch.Add(created.Headers.ETag!);

        var response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("00000000-0000-0000-0000-000000000000")]
    [InlineData("not-a-uuid")]
    [InlineData("6F1C0A52-5B7E-4F7E-9A43-1C2D3E4F5A6B")]
    public async Task Get_UnknownOrMalformedId_404(string id)
    {
        using var client = api.Client(ApiFixture.NewUser());

        await ProblemAssert.IsProblemAsync(await client.GetAsync($"/api/projects/{id}", Ct), HttpStatusCode.NotFound, "not-found");
    }

    [Fact(Timeout = 120_000)]
    public async Task List_FivePagesOfTwo_NewestUpdatedFirstAcrossPages()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var created = new List<ProjectResponse>();
        for (var i = 0; i < 9; i++) { created.Add(await ApiFixture.CreateProjectAsync(client, $"P{i}")); }
        // Touching the oldest makes it the newest.
        var touched = await client.PatchAsJsonAsync($"/api/projects/{created[0].Id}", new { name = "P0 renamed" }, Ct);
        touched.EnsureSuccessStatusCode();

        var seen = new List<ProjectResponse>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = (await client.GetFromJsonAsync<Page<ProjectResponse>>(
                $"/api/projects?pageSize=2{(token is null ? "" : "&pageToken=" + Uri.EscapeDataString(token))}", Ct))!;
            Assert.True(page.Items.Count <= 2);
            seen.AddRange(page.Items);
            token = page.NextPageToken;
            pages++;
        }
        while (token is not null);

        Assert.Equal(5, pages);
        var expected = new[] { created[0].Id }.Concat(created.Skip(1).Reverse().Select(p => p.Id));
        Assert.Equal(expected, seen.Select(p => p.Id));
        Assert.True(seen.Zip(seen.Skip(1)).All(pair => pair.First.UpdatedAt >= pair.Second.UpdatedAt));
    }

    [Fact(Timeout = 60_000)]
    public async Task List_OnlyOwnProjects()
    {
        using var alice = api.Client(ApiFixture.NewUser());
        using var bob = api.Client(ApiFixture.NewUser());
        var mine = await ApiFixture.CreateProjectAsync(alice);
        await ApiFixture.CreateProjectAsync(bob);

        var page = (await alice.GetFromJsonAsync<Page<ProjectResponse>>("/api/projects", Ct))!;

        Assert.Equal([mine.Id], page.Items.Select(p => p.Id));
        Assert.Null(page.NextPageToken);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("pageSize=0", "pageSize")]
    [InlineData("pageSize=101", "pageSize")]
    [InlineData("pageSize=abc", "pageSize")]
    [InlineData("pageToken=garbage", "pageToken")]
    [InlineData("pageToken=eyJsIjoicHJvamVjdHMiLCJwIjoibm90IGEgdGltZSIsImkiOiJ4In0", "pageToken")]
    public async Task List_BadPaging_400NamingField(string query, string field)
    {
        using var client = api.Client(ApiFixture.NewUser());

        await ProblemAssert.ValidationAsync(await client.GetAsync($"/api/projects?{query}", Ct), field);
    }

    [Fact(Timeout = 60_000)]
    public async Task List_TokenTamperedToAnotherCursor_400()
    {
        using var client = api.Client(ApiFixture.NewUser());
        for (var i = 0; i < 3; i++) { await ApiFixture.CreateProjectAsync(client); }
        var page = (await client.GetFromJsonAsync<Page<ProjectResponse>>("/api/projects?pageSize=1", Ct))!;
        var token = page.NextPageToken!;
        var tampered = token[..^2] + (token[^2] == 'A' ? 'B' : 'A') + token[^1];

        var response = await client.GetAsync($"/api/projects?pageSize=1&pageToken={Uri.EscapeDataString(tampered)}", Ct);

        await ProblemAssert.ValidationAsync(response, "pageToken");
    }

    [Fact(Timeout = 60_000)]
    public async Task Patch_MatchingIfMatch_UpdatesAndReturnsNewETag()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var created = await client.PostAsJsonAsync("/api/projects", new { name = "Before", description = "d" }, Ct);
        using var request = new HttpRequestMessage(HttpMethod.Patch, created.Headers.Location)
        {
            Content = JsonContent.Create(new { name = "After", videoSettings = new { fps = 60 } }),
        };
        request.Headers.IfMatch.Add(created.Headers.ETag!);

        var response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual(created.Headers.ETag, response.Headers.ETag);
        var project = (await response.Content.ReadFromJsonAsync<ProjectResponse>(Ct))!;
        Assert.Equal("After", project.Name);
        Assert.Equal("d", project.Description);
        Assert.Equal(new VideoSettingsResponse(1920, 1080, 60, 300), project.VideoSettings);
        var read = await client.GetAsync(created.Headers.Location, Ct);
        Assert.Equal(response.Headers.ETag, read.Headers.ETag);
        Assert.Equal(project, await read.Content.ReadFromJsonAsync<ProjectResponse>(Ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Patch_StaleETag_412AndNothingChanges()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var created = await client.PostAsJsonAsync("/api/projects", new { name = "One" }, Ct);
        var first = await client.PatchAsJsonAsync(created.Headers.Location, new { name = "Two" }, Ct);
        first.EnsureSuccessStatusCode();
        using var request = new HttpRequestMessage(HttpMethod.Patch, created.Headers.Location) { Content = JsonContent.Create(new { name = "Three" }) };
        request.Headers.IfMatch.Add(created.Headers.ETag!);

        await ProblemAssert.IsProblemAsync(await client.SendAsync(request, Ct), HttpStatusCode.PreconditionFailed, "precondition-failed");

        var project = await client.GetFromJsonAsync<ProjectResponse>(created.Headers.Location, Ct);
        Assert.Equal("Two", project!.Name);
    }

    [Fact(Timeout = 60_000)]
    public async Task Patch_WeakOrUnparsableIfMatch_412()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var created = await client.PostAsJsonAsync("/api/projects", new { name = "One" }, Ct);
        using var request = new HttpRequestMessage(HttpMethod.Patch, created.Headers.Location) { Content = JsonContent.Create(new { name = "Two" }) };
        request.Headers.TryAddWithoutValidation("If-Match", "W/" + created.Headers.ETag!.Tag);

        await ProblemAssert.IsProblemAsync(await client.SendAsync(request, Ct), HttpStatusCode.PreconditionFailed, "precondition-failed");
    }

    [Fact(Timeout = 60_000)]
    public async Task Patch_InvalidFields_400NamingThem()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        var response = await client.PatchAsJsonAsync($"/api/projects/{project.Id}",
            new { name = "", description = new string('d', 2001), videoSettings = new { height = 8000 } }, Ct);

        await ProblemAssert.ValidationAsync(response, "name", "description", "videoSettings.height");
    }

    [Fact(Timeout = 60_000)]
    public async Task Patch_EmptyDescription_ClearsIt()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var created = await client.PostAsJsonAsync("/api/projects", new { name = "n", description = "something" }, Ct);

        var response = await client.PatchAsJsonAsync(created.Headers.Location, new { description = "" }, Ct);

        Assert.Null((await response.Content.ReadFromJsonAsync<ProjectResponse>(Ct))!.Description);
    }

    [Fact(Timeout = 60_000)]
    public async Task Delete_Project_RemovesItsMessagesHistoryAndManifests()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);
        var snapshots = api.Service<ISnapshotStore>();
        var head = (await snapshots.ReadTreeAsync(project.Id, project.HeadSnapshotId, Ct))!;
        var sha = await snapshots.PutBlobAsync("export const x = 1;"u8.ToArray(), Ct);
        var next = SnapshotManifest.Create([.. head.Entries, new ManifestEntry("src/extra.ts", sha, 19)]);
        Assert.Equal(CommitStatus.Committed, (await snapshots.CommitAsync(new SnapshotCommit(project.Id, project.HeadSnapshotId, next, SnapshotAuthors.Agent, "add"), Ct)).Status);
        await api.Service<IMessageStore>().AddAsync(project.Id,
            new ChatMessage(Guid.NewGuid().ToString("D"), MessageRoles.User, "hi", MessageStatuses.Complete, [], default, null), Ct);

        var response = await client.DeleteAsync($"/api/projects/{project.Id}", Ct);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await ProblemAssert.IsProblemAsync(await client.GetAsync($"/api/projects/{project.Id}", Ct), HttpStatusCode.NotFound, "not-found");
        var firestore = api.Service<FirestoreClient>();
        Assert.Null(await firestore.GetAsync<object>($"projects/{project.Id}", Ct));
        Assert.Empty((await firestore.ListDocumentsAsync<object>($"projects/{project.Id}/messages", cancellationToken: Ct)).Documents);
        Assert.Empty((await firestore.ListDocumentsAsync<object>($"projects/{project.Id}/snapshots", cancellationToken: Ct)).Documents);
        Assert.Empty(await api.Service<StorageClient>().ListAsync(api.Bucket, $"repos/{project.Id}/", Ct).ToListAsync(Ct));
        // The shared template is untouched: other projects still read it.
        var other = await ApiFixture.CreateProjectAsync(client);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/projects/{other.Id}/files/src/App.tsx", Ct)).StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Delete_Twice_SecondIs404()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/projects/{project.Id}", Ct)).StatusCode);
        await ProblemAssert.IsProblemAsync(await client.DeleteAsync($"/api/projects/{project.Id}", Ct), HttpStatusCode.NotFound, "not-found");
    }
}
