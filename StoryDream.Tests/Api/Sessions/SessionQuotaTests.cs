using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using StoryDream.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Sessions;

/// <summary>A bed whose users may hold one session at a time and start two per hour.</summary>
public sealed class QuotaBedFixture(TestServers servers) : IAsyncLifetime
{
    private SessionTestBed? _bed;

    public SessionTestBed Bed => _bed ?? throw new InvalidOperationException("Not initialized.");

    public async ValueTask InitializeAsync() => _bed = await SessionTestBed.StartAsync(servers, new()
    {
        ["Sessions:MaxActiveSessionsPerUser"] = "1",
        ["Sessions:StartsPerWindow"] = "2",
    });

    public async ValueTask DisposeAsync()
    {
        if (_bed is not null) { await _bed.DisposeAsync(); }
    }
}

public sealed class SessionQuotaTests(QuotaBedFixture fixture) : IClassFixture<QuotaBedFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 180_000)]
    public async Task Start_OverTheActiveSessionQuota_ForbiddenNamingTheLimitUntilOneStops()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var first = await Bed.Api.CreateProjectAsync(client, Ct);
        var second = await Bed.Api.CreateProjectAsync(client, Ct);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"api/projects/{first.Id}/session", null, Ct)).StatusCode);
        var podsBefore = Bed.PodFolders();

        var refused = await client.PostAsync($"api/projects/{second.Id}/session", null, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("Sessions:MaxActiveSessionsPerUser", problem.GetProperty("limit").GetString());
        Assert.Equal(1, problem.GetProperty("max").GetInt32());
        Assert.Equal(1, problem.GetProperty("used").GetInt32());
        Assert.Equal(podsBefore, Bed.PodFolders());
        // Another user is not held back by this one.
        using var other = Bed.Api.Client(SessionTestBed.NewUser());
        var theirs = await Bed.Api.CreateProjectAsync(other, Ct);
        Assert.Equal(HttpStatusCode.OK, (await other.PostAsync($"api/projects/{theirs.Id}/session", null, Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await client.DeleteAsync($"api/projects/{first.Id}/session", Ct)).StatusCode);
        await SessionsApiTests.WaitUntilAsync(async () => (await client.GetAsync($"api/projects/{first.Id}/session", Ct)).StatusCode == HttpStatusCode.NotFound);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"api/projects/{second.Id}/session", null, Ct)).StatusCode);
        Assert.Equal(1, await Bed.Redis.Db.SetLengthAsync(RedisKeys.UserSessions(user)));
    }

    [Fact(Timeout = 180_000)]
    public async Task Start_OverTheStartRate_TooManyRequestsWithRetryAfter()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"api/projects/{project.Id}/session", null, Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, (await client.DeleteAsync($"api/projects/{project.Id}/session", Ct)).StatusCode);
            await SessionsApiTests.WaitUntilAsync(async () => (await client.GetAsync($"api/projects/{project.Id}/session", Ct)).StatusCode == HttpStatusCode.NotFound);
        }

        var refused = await client.PostAsync($"api/projects/{project.Id}/session", null, Ct);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("Sessions:StartsPerWindow", problem.GetProperty("limit").GetString());
        Assert.Equal(2, problem.GetProperty("max").GetInt32());
        // The refused start left nothing behind: no record, no claim on the user's quota.
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"api/projects/{project.Id}/session", Ct)).StatusCode);
    }
}
