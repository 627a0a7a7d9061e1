using System.Net;
using System.Net.Http.Json;
using System.Text;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.Api.Snapshots;
using StoryDream.Snapshots;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api;

public sealed class SnapshotsApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string TemplateFolder => Path.Combine(RepositoryPaths.Root, "templates", "default");

    [Fact(Timeout = 60_000)]
    public async Task History_NewProject_OneTemplateEntry()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        var page = (await client.GetFromJsonAsync<Page<SnapshotResponse>>($"/api/projects/{project.Id}/snapshots", Ct))!;

        var entry = Assert.Single(page.Items);
        Assert.Equal(project.HeadSnapshotId, entry.Id);
        Assert.Equal(project.HeadSnapshotId, entry.EntryId);
        Assert.Null(entry.ParentId);
        Assert.Equal(SnapshotAuthors.Template, entry.Author);
        var files = TemplateFiles();
        Assert.Equal(files.Count, entry.FileCount);
        Assert.Equal(new ChangeCounts(files.Count, 0, 0), entry.Changes);
        Assert.Equal(files.Values.Sum(f => (long)f.Length), entry.TotalBytes);
    }

    [Fact(Timeout = 60_000)]
    public async Task Files_Head_AreTheTemplatesFilesUnderTheWorkspaceRoots()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        var response = await client.GetAsync($"/api/projects/{project.Id}/files", Ct);
        var files = (await response.Content.ReadFromJsonAsync<List<FileResponse>>(Ct))!;

        var expected = TemplateFiles();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), files.Select(f => f.Path).Order(StringComparer.Ordinal));
        Assert.All(files, f => Assert.Equal(Sha256Hex.Of(expected[f.Path]), f.Sha256));
        Assert.Contains("src/compositions/MyVideo.tsx", expected.Keys);
        Assert.True(response.Headers.CacheControl is { Private: true, NoCache: true });
    }

    [Fact(Timeout = 60_000)]
    public async Task FileContent_Head_IsTheFilesBytesWithItsHashAsETag()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);
        var expected = TemplateFiles()["src/compositions/MyVideo.tsx"];

        var response = await client.GetAsync($"/api/projects/{project.Id}/files/src/compositions/MyVideo.tsx", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal($"\"{Sha256Hex.Of(expected)}\"", response.Headers.ETag?.Tag);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Theory(Timeout = 60_000)]
    [InlineData("node_modules/react/index.js", HttpStatusCode.BadRequest)]
    [InlineData("src/missing.tsx", HttpStatusCode.NotFound)]
    // The URL layer already neutralizes these (dot segments collapse, an encoded slash stays part of one name); never served.
    [InlineData("src/%2E%2E/%2E%2E/etc/passwd", HttpStatusCode.NotFound)]
    [InlineData("src/..%2F..%2Fetc%2Fpasswd", HttpStatusCode.NotFound)]
    public async Task FileContent_BadOrMissingPath_Refused(string path, HttpStatusCode status)
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        var response = await client.GetAsync($"/api/projects/{project.Id}/files/{path}", Ct);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact(Timeout = 60_000)]
    public async Task Files_MalformedSnapshot_400NamingSnapshot_UnknownSnapshot_404()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        await ProblemAssert.ValidationAsync(await client.GetAsync($"/api/projects/{project.Id}/files?snapshot=xyz", Ct), "snapshot");
        await ProblemAssert.IsProblemAsync(await client.GetAsync($"/api/projects/{project.Id}/files?snapshot={new string('a', 64)}", Ct),
            HttpStatusCode.NotFound, "not-found");
    }

    [Fact(Timeout = 120_000)]
    public async Task Restore_OldVersion_NewHeadWithThatTreeAndAllHistoryKept()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);
        var store = api.Service<ISnapshotStore>();
        var template = (await store.ReadTreeAsync(project.Id, project.HeadSnapshotId, Ct))!;
        var v1 = await CommitAsync(store, project.Id, template, ("src/intro.tsx", "intro v1"), ("src/App.tsx", "app v1"));
        var v2 = await CommitAsync(store, project.Id, v1, ("src/intro.tsx", "intro v2"));

        var response = await client.PostAsync($"/api/projects/{project.Id}/snapshots/{template.Id}/restore", null, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var restored = (await response.Content.ReadFromJsonAsync<SnapshotResponse>(Ct))!;
        Assert.Equal(template.Id, restored.Id);
        Assert.NotEqual(template.Id, restored.EntryId);
        Assert.Equal(v2.Id, restored.ParentId);
        Assert.Equal(SnapshotAuthors.User, restored.Author);
        Assert.Equal(new ChangeCounts(0, 1, 1), restored.Changes);
        var current = (await client.GetFromJsonAsync<ProjectResponse>($"/api/projects/{project.Id}", Ct))!;
        Assert.Equal(template.Id, current.HeadSnapshotId);
        var files = (await client.GetFromJsonAsync<List<FileResponse>>($"/api/projects/{project.Id}/files", Ct))!;
        Assert.Equal(template.Entries.Select(e => (e.Path, e.Sha256, e.Size)), files.Select(f => (f.Path, f.Sha256, f.Size)));
        var app = await client.GetByteArrayAsync($"/api/projects/{project.Id}/files/src/App.tsx", Ct);
        Assert.Equal(TemplateFiles()["src/App.tsx"], app);

        var history = (await client.GetFromJsonAsync<Page<SnapshotResponse>>($"/api/projects/{project.Id}/snapshots", Ct))!.Items;
        Assert.Equal([template.Id, v2.Id, v1.Id, template.Id], history.Select(h => h.Id));
        Assert.Equal([v2.Id, v1.Id, template.Id, null], history.Select(h => h.ParentId));
        Assert.Equal([SnapshotAuthors.User, SnapshotAuthors.Agent, SnapshotAuthors.Agent, SnapshotAuthors.Template], history.Select(h => h.Author));
        // Any version stays readable, including one that is no longer the head.
        var old = await client.GetByteArrayAsync($"/api/projects/{project.Id}/files/src/intro.tsx?snapshot={v1.Id}", Ct);
        Assert.Equal("intro v1"u8.ToArray(), old);

        var again = await client.PostAsync($"/api/projects/{project.Id}/snapshots/{v1.Id}/restore", null, Ct);
        var second = (await again.Content.ReadFromJsonAsync<SnapshotResponse>(Ct))!;
        Assert.Equal(v1.Id, second.Id);
        Assert.Equal(template.Id, second.ParentId);
        Assert.Equal(v1.Id, (await client.GetFromJsonAsync<ProjectResponse>($"/api/projects/{project.Id}", Ct))!.HeadSnapshotId);
    }

    [Fact(Timeout = 60_000)]
    public async Task Restore_CurrentHead_NothingNew()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        var response = await client.PostAsync($"/api/projects/{project.Id}/snapshots/{project.HeadSnapshotId}/restore", null, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(project.HeadSnapshotId, (await response.Content.ReadFromJsonAsync<SnapshotResponse>(Ct))!.EntryId);
        Assert.Single((await client.GetFromJsonAsync<Page<SnapshotResponse>>($"/api/projects/{project.Id}/snapshots", Ct))!.Items);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("not-a-snapshot")]
    public async Task Restore_UnknownSnapshot_404(string snapshotId)
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);

        var response = await client.PostAsync($"/api/projects/{project.Id}/snapshots/{snapshotId}/restore", null, Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
    }

    [Fact(Timeout = 120_000)]
    public async Task History_PagesOfTwo_NewestFirstAcrossPages()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(client);
        var store = api.Service<ISnapshotStore>();
        var tree = (await store.ReadTreeAsync(project.Id, project.HeadSnapshotId, Ct))!;
        var ids = new List<string> { tree.Id };
        for (var i = 0; i < 4; i++)
        {
            tree = await CommitAsync(store, project.Id, tree, ($"src/step{i}.ts", $"step {i}"));
            ids.Add(tree.Id);
        }

        var seen = new List<SnapshotResponse>();
        string? token = null;
        do
        {
            var page = (await client.GetFromJsonAsync<Page<SnapshotResponse>>(
                $"/api/projects/{project.Id}/snapshots?pageSize=2{(token is null ? "" : "&pageToken=" + Uri.EscapeDataString(token))}", Ct))!;
            seen.AddRange(page.Items);
            token = page.NextPageToken;
        }
        while (token is not null);

        ids.Reverse();
        Assert.Equal(ids, seen.Select(s => s.Id));
        Assert.Equal(Enumerable.Repeat(new ChangeCounts(1, 0, 0), 4), seen.Take(4).Select(s => s.Changes));
    }

    internal static async Task<SnapshotManifest> CommitAsync(ISnapshotStore store, string projectId, SnapshotManifest parent, params (string Path, string Content)[] files)
    {
        var entries = parent.Entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        foreach (var (path, content) in files)
        {
            var bytes = Encoding.UTF8.GetBytes(content);
            entries[path] = new ManifestEntry(path, await store.PutBlobAsync(bytes, Ct), bytes.Length);
        }
        var tree = SnapshotManifest.Create(entries.Values);
        var result = await store.CommitAsync(new SnapshotCommit(projectId, parent.Id, tree, SnapshotAuthors.Agent, "agent turn"), Ct);
        Assert.Equal(CommitStatus.Committed, result.Status);
        return tree;
    }

    private static Dictionary<string, byte[]> TemplateFiles() =>
        TemplateCatalog.ReadFiles(TemplateFolder).ToDictionary(f => f.Key, f => f.Value.ToArray(), StringComparer.Ordinal);
}
