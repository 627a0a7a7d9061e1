using Microsoft.AspNetCore.Mvc.Testing;

namespace StoryDream.Tests.ServiceDefaults;

public sealed class HealthEndpointTests
{
    [Theory]
    [InlineData("/health")]
    [InlineData("/alive")]
    public async Task Api_HealthEndpoints_AnswerHealthy(string path)
    {
        await using var factory = new WebApplicationFactory<StoryDream.Api.Program>();
        using var client = factory.CreateClient();

        var response = await client.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }
}
