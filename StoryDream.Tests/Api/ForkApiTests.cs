using System.Net;
using System.Net.Http.Json;
using StoryDream.Api.Http;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;
using StoryDream.Api.Snapshots;
using StoryDream.Snapshots;

namespace StoryDream.Tests.Api;

public sealed class ForkApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Fork_OldVersion_NewProjectOfMineWhoseHeadIsThatTreeWithASystemMessage()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var source = await ApiFixture.CreateProjectAsync(client, "Launch video");
        var store = api.Service<ISnapshotStore>();
        var template = (await store.ReadTreeAsync(source.Id, source.HeadSnapshotId, Ct))!;
        var v1 = await SnapshotsApiTests.CommitAsync(store, source.Id, template, ("src/intro.tsx", "intro v1"));
        await SnapshotsApiTests.CommitAsync(store, source.Id, v1, ("src/intro.tsx", "intro v2"));

        var response = await client.PostAsync($"/api/projects/{source.Id}/snapshots/{v1.Id}/fork", null, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var fork = (await response.Content.ReadFromJsonAsync<ProjectResponse>(Ct))!;
        Assert.Equal($"/api/projects/{fork.Id}", response.Headers.Location?.OriginalString);
        Assert.NotEqual(source.Id, fork.Id);
        Assert.Equal("Launch video (fork)", fork.Name);
        Assert.Equal(v1.Id, fork.HeadSnapshotId);
        var intro = await client.GetStringAsync($"/api/projects/{fork.Id}/files/src/intro.tsx", Ct);
        Assert.Equal("intro v1", intro);
        var history = (await client.GetFromJsonAsync<Page<SnapshotResponse>>($"/api/projects/{fork.Id}/snapshots", Ct))!.Items;
        var first = Assert.Single(history);
        Assert.Equal((v1.Id, SnapshotAuthors.System, (string?)null), (first.Id, first.Author, first.ParentId));
        Assert.Contains(v1.Id[..12], first.Message, StringComparison.Ordinal);
        var messages = (await client.GetFromJsonAsync<Page<ChatMessage>>($"/api/projects/{fork.Id}/messages", Ct))!.Items;
        var note = Assert.Single(messages);
        Assert.Equal(MessageRoles.System, note.Role);
        Assert.Contains("Launch video", note.Content, StringComparison.Ordinal);
        Assert.Contains(v1.Id[..12], note.Content, StringComparison.Ordinal);
        var sourceNow = (await client.GetFromJsonAsync<ProjectResponse>($"/api/projects/{source.Id}", Ct))!;
        Assert.NotEqual(v1.Id, sourceNow.HeadSnapshotId);
    }

    [Fact(Timeout = 60_000)]
    public async Task Fork_TemplateVersion_FilesReadableInTheFork()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var source = await ApiFixture.CreateProjectAsync(client);

        var response = await client.PostAsync($"/api/projects/{source.Id}/snapshots/{source.HeadSnapshotId}/fork", null, Ct);
        var fork = (await response.Content.ReadFromJsonAsync<ProjectResponse>(Ct))!;

        var sourceFiles = (await client.GetFromJsonAsync<List<FileResponse>>($"/api/projects/{source.Id}/files", Ct))!;
        var forkFiles = (await client.GetFromJsonAsync<List<FileResponse>>($"/api/projects/{fork.Id}/files", Ct))!;
        Assert.Equal(sourceFiles, forkFiles);
    }

    [Fact(Timeout = 60_000)]
    public async Task Fork_LongName_ClippedToTheLimitKeepingTheSuffix()
    {
        using var client = api.Client(ApiFixture.NewUser());
        var source = await ApiFixture.CreateProjectAsync(client, new string('n', ProjectValidation.MaxNameLength));

        var fork = (await (await client.PostAsync($"/api/projects/{source.Id}/snapshots/{source.HeadSnapshotId}/fork", null, Ct))
            .Content.ReadFromJsonAsync<ProjectResponse>(Ct))!;

        Assert.Equal(ProjectValidation.MaxNameLength, fork.Name.Length);
        Assert.EndsWith(" (fork)", fork.Name, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Fork_AnotherUsersProjectOrUnknownSnapshot_404()
    {
        using var owner = api.Client(ApiFixture.NewUser());
        using var stranger = api.Client(ApiFixture.NewUser());
        var source = await ApiFixture.CreateProjectAsync(owner);
        var mine = await ApiFixture.CreateProjectAsync(stranger);
        var store = api.Service<ISnapshotStore>();
        var ownersVersion = await SnapshotsApiTests.CommitAsync(store, source.Id, (await store.ReadTreeAsync(source.Id, source.HeadSnapshotId, Ct))!,
            ("src/secret.tsx", "owner's work"));

        var foreignProject = await stranger.PostAsync($"/api/projects/{source.Id}/snapshots/{source.HeadSnapshotId}/fork", null, Ct);
        var unknownSnapshot = await owner.PostAsync($"/api/projects/{source.Id}/snapshots/{new string('a', 64)}/fork", null, Ct);
        var malformed = await owner.PostAsync($"/api/projects/{source.Id}/snapshots/..%2F..%2Fx/fork", null, Ct);
        // A snapshot that exists, but in another user's project, is not in mine.
        var otherUsersSnapshotInMine = await stranger.PostAsync($"/api/projects/{mine.Id}/snapshots/{ownersVersion.Id}/fork", null, Ct);

        await ProblemAssert.IsProblemAsync(foreignProject, HttpStatusCode.NotFound, "not-found");
        await ProblemAssert.IsProblemAsync(unknownSnapshot, HttpStatusCode.NotFound, "not-found");
        Assert.Equal(HttpStatusCode.NotFound, malformed.StatusCode);
        await ProblemAssert.IsProblemAsync(otherUsersSnapshotInMine, HttpStatusCode.NotFound, "not-found");
        var strangersProjects = (await stranger.GetFromJsonAsync<Page<ProjectResponse>>("/api/projects", Ct))!.Items;
        Assert.Equal([mine.Id], strangersProjects.Select(p => p.Id));
    }
}
