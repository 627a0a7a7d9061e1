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
}
