using System.Net;
using System.Net.Http.Json;
using StoryDream.Api.Auth;
using StoryDream.Api.Http;
using StoryDream.Api.Projects;
using StoryDream.GoogleCloud.Firestore;

namespace StoryDream.Tests.Api;

public sealed class KeysApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task ApiKey_Created_ActsAsItsOwnerAndOnlyItsHashIsStored()
    {
        using var owner = api.Client(ApiFixture.NewUser());
        var project = await ApiFixture.CreateProjectAsync(owner);

        var created = await owner.PostAsJsonAsync("/api/keys", new { name = "CI" }, Ct);

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = (await created.Content.ReadFromJsonAsync<CreatedApiKeyResponse>(Ct))!;
        using var headless = api.Client();
        headless.DefaultRequestHeaders.Add("X-Api-Key", key.Key);
        var page = (await headless.GetFromJsonAsync<Page<ProjectResponse>>("/api/projects", Ct))!;
        Assert.Equal([project.Id], page.Items.Select(p => p.Id));
        var stored = await api.Service<FirestoreClient>().GetAsync<Dictionary<string, object?>>($"apiClients/{key.Id}", Ct);
        Assert.NotNull(stored);
        Assert.Equal(ApiKeyFormat.Hash(key.Key), stored.Data["keyHash"]?.ToString());
        Assert.DoesNotContain(stored.Data.Values, v => v?.ToString()?.Contains(key.Key, StringComparison.Ordinal) == true);
    }

    [Fact(Timeout = 60_000)]
    public async Task ApiKey_Revoked_Refused()
    {
        using var owner = api.Client(ApiFixture.NewUser());
        var key = (await (await owner.PostAsJsonAsync("/api/keys", new { name = "temp" }, Ct)).Content.ReadFromJsonAsync<CreatedApiKeyResponse>(Ct))!;
        using var headless = api.Client();
        headless.DefaultRequestHeaders.Add("X-Api-Key", key.Key);
        Assert.Equal(HttpStatusCode.OK, (await headless.GetAsync("/api/projects", Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await owner.DeleteAsync($"/api/keys/{key.Id}", Ct)).StatusCode);

        await ProblemAssert.IsProblemAsync(await headless.GetAsync("/api/projects", Ct), HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact(Timeout = 60_000)]
    public async Task ApiKey_WrongSecretOrMalformed_Refused()
    {
        using var owner = api.Client(ApiFixture.NewUser());
        var key = (await (await owner.PostAsJsonAsync("/api/keys", new { name = "k" }, Ct)).Content.ReadFromJsonAsync<CreatedApiKeyResponse>(Ct))!;
        var wrongSecret = ApiKeyFormat.New(key.Id);

        foreach (var candidate in new[] { wrongSecret, "sdk_nonsense", key.Key + "x" })
        {
            using var headless = api.Client();
            headless.DefaultRequestHeaders.Add("X-Api-Key", candidate);
            await ProblemAssert.IsProblemAsync(await headless.GetAsync("/api/projects", Ct), HttpStatusCode.Unauthorized, "unauthorized");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Keys_ListShowsNoSecret_AndOnlyOwnKeys()
    {
        using var alice = api.Client(ApiFixture.NewUser());
        using var bob = api.Client(ApiFixture.NewUser());
        var key = (await (await alice.PostAsJsonAsync("/api/keys", new { name = "mine" }, Ct)).Content.ReadFromJsonAsync<CreatedApiKeyResponse>(Ct))!;
        await bob.PostAsJsonAsync("/api/keys", new { name = "bobs" }, Ct);

        var list = await alice.GetAsync("/api/keys", Ct);
        var text = await list.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Contains(key.Id, text, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Key, text, StringComparison.Ordinal);
        Assert.DoesNotContain("bobs", text, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Keys_AnotherUsersKey_CannotBeDeleted()
    {
        using var alice = api.Client(ApiFixture.NewUser());
        using var bob = api.Client(ApiFixture.NewUser());
        var key = (await (await alice.PostAsJsonAsync("/api/keys", new { name = "mine" }, Ct)).Content.ReadFromJsonAsync<CreatedApiKeyResponse>(Ct))!;

        await ProblemAssert.IsProblemAsync(await bob.DeleteAsync($"/api/keys/{key.Id}", Ct), HttpStatusCode.NotFound, "not-found");

        using var headless = api.Client();
        headless.DefaultRequestHeaders.Add("X-Api-Key", key.Key);
        Assert.Equal(HttpStatusCode.OK, (await headless.GetAsync("/api/projects", Ct)).StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Keys_ManagedWithAnApiKey_Refused()
    {
        using var owner = api.Client(ApiFixture.NewUser());
        var key = (await (await owner.PostAsJsonAsync("/api/keys", new { name = "k" }, Ct)).Content.ReadFromJsonAsync<CreatedApiKeyResponse>(Ct))!;
        using var headless = api.Client();
        headless.DefaultRequestHeaders.Add("X-Api-Key", key.Key);

        var response = await headless.PostAsJsonAsync("/api/keys", new { name = "more" }, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Keys_InvalidName_400NamingName()
    {
        using var owner = api.Client(ApiFixture.NewUser());

        await ProblemAssert.ValidationAsync(await owner.PostAsJsonAsync("/api/keys", new { name = "" }, Ct), "name");
    }
}
