using StoryDream.Tests.Api;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.ServiceDefaults;

public sealed class HealthEndpointTests(TestServers servers)
{
    [Theory(Timeout = 120_000)]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task Api_HealthEndpoints_AnswerHealthy(string path)
    {
        // The API validates its configuration (auth, Google Cloud) on start, so it runs configured as in development.
        var api = new ApiFixture(servers);
        await api.InitializeAsync();
        try
        {
            using var client = api.Client();

            var response = await client.GetAsync(path, TestContext.Current.CancellationToken);

            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }
        finally
        {
            await api.DisposeAsync();
        }
    }
}
