using System.Net;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api;

public sealed class RateLimitingTests(TestServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 120_000)]
    public async Task Requests_OverTheUsersBudget_429WithRetryAfter_OtherUsersUnaffected()
    {
        var api = new ApiFixture(servers);
        api.Settings["RateLimiting:PermitLimit"] = "3";
        api.Settings["RateLimiting:Window"] = "01:00:00";
        await api.InitializeAsync();
        try
        {
            using var busy = api.Client(ApiFixture.NewUser());
            using var other = api.Client(ApiFixture.NewUser());
            for (var i = 0; i < 3; i++) { Assert.Equal(HttpStatusCode.OK, (await busy.GetAsync("/api/projects", Ct)).StatusCode); }

            var limited = await busy.GetAsync("/api/projects", Ct);

            await ProblemAssert.IsProblemAsync(limited, HttpStatusCode.TooManyRequests, "rate-limited");
            var retryAfter = limited.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value, TimeSpan.FromMinutes(50), TimeSpan.FromHours(1));
            Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/api/projects", Ct)).StatusCode);
            // Probes are never limited.
            Assert.Equal(HttpStatusCode.OK, (await busy.GetAsync("/health", Ct)).StatusCode);
        }
        finally
        {
            await api.DisposeAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Anonymous_ThroughAKnownProxy_LimitedByTheForwardedAddress()
    {
        await using var trusting = await StartAsync(knownProxies: null);
        await using var distrusting = await StartAsync(knownProxies: "10.20.0.0/16");

        // The default known proxy is loopback, where the gateway runs beside the API: one client's budget is its own.
        Assert.Equal(HttpStatusCode.Unauthorized, await AnonymousAsync(trusting, "203.0.113.1"));
        Assert.Equal(HttpStatusCode.Unauthorized, await AnonymousAsync(trusting, "203.0.113.1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await AnonymousAsync(trusting, "203.0.113.1"));
        Assert.Equal(HttpStatusCode.Unauthorized, await AnonymousAsync(trusting, "203.0.113.2"));

        // From a connection that is no known proxy, naming another address does not buy a fresh budget.
        Assert.Equal(HttpStatusCode.Unauthorized, await AnonymousAsync(distrusting, "203.0.113.1"));
        Assert.Equal(HttpStatusCode.Unauthorized, await AnonymousAsync(distrusting, "203.0.113.2"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await AnonymousAsync(distrusting, "203.0.113.3"));
    }

    private async Task<ApiFixture> StartAsync(string? knownProxies)
    {
        var api = new ApiFixture(servers) { UseKestrel = true };
        api.Settings["RateLimiting:PermitLimit"] = "2";
        api.Settings["RateLimiting:Window"] = "01:00:00";
        if (knownProxies is not null) { api.Settings["ForwardedHeaders:KnownProxies"] = knownProxies; }
        await api.InitializeAsync();
        return api;
    }

    private static async Task<HttpStatusCode> AnonymousAsync(ApiFixture api, string forwardedFor)
    {
        using var client = api.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/projects");
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await client.SendAsync(request, Ct);
        return response.StatusCode;
    }
}
