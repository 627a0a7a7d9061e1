using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using StoryDream.Api.Auth;

namespace StoryDream.Tests.Api;

public sealed class DevSignInFixture(Infrastructure.TestServers servers) : IAsyncLifetime
{
    public ApiFixture Api { get; } = new(servers) { Settings = { ["Auth:DevSignIn"] = "true" } };

    public ValueTask InitializeAsync() => Api.InitializeAsync();

    public ValueTask DisposeAsync() => Api.DisposeAsync();
}

public sealed class DevSignInTests(DevSignInFixture enabled, ApiFixture disabled) : IClassFixture<DevSignInFixture>, IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task DevToken_Enabled_ATokenTheApiAcceptsForTheDevUser()
    {
        using var anonymous = enabled.Api.Client();

        var response = await anonymous.PostAsJsonAsync("/api/auth/dev-token", new { }, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var token = (await response.Content.ReadFromJsonAsync<DevTokenResponse>(Ct))!;
        Assert.Equal("dev-user", token.UserId);
        Assert.InRange(token.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(50), TimeSpan.FromMinutes(61));
        using var signedIn = enabled.Api.Client();
        signedIn.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await signedIn.GetAsync("/api/projects", Ct)).StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task DevToken_AnotherUserOrABadOne_MintedOrRefusedNamingTheField()
    {
        using var anonymous = enabled.Api.Client();

        var other = await anonymous.PostAsJsonAsync("/api/auth/dev-token", new { userId = "other-user" }, Ct);
        var bad = await anonymous.PostAsJsonAsync("/api/auth/dev-token", new { userId = "../../etc" }, Ct);

        Assert.Equal("other-user", (await other.Content.ReadFromJsonAsync<DevTokenResponse>(Ct))!.UserId);
        await ProblemAssert.ValidationAsync(bad, "userId");
    }

    [Fact(Timeout = 60_000)]
    public async Task DevToken_NotEnabled_Refused()
    {
        using var anonymous = disabled.Client();

        var response = await anonymous.PostAsJsonAsync("/api/auth/dev-token", new { }, Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden, "forbidden");
    }
}
