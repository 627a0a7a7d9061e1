using Microsoft.AspNetCore.Http;
using StoryDream.SessionGateway;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

public sealed class GatewayOptionsTests(TestServers servers)
{
    [Theory(Timeout = 30_000)]
    [InlineData("Gateway:PreviewDomain", "", "Gateway:PreviewDomain")]
    [InlineData("Gateway:PreviewDomain", "https://preview.example.com", "Gateway:PreviewDomain")]
    [InlineData("Gateway:PreviewDomain", ".preview.localhost", "Gateway:PreviewDomain")]
    [InlineData("Gateway:CorsOrigins", "https://app.example.com/path", "Gateway:CorsOrigins")]
    [InlineData("Gateway:WebSocketActivityTimeout", "00:00:00", "Gateway:WebSocketActivityTimeout")]
    [InlineData("Sessions:PreviewTokenKey", "", "Sessions:PreviewTokenKey")]
    [InlineData("Sessions:PreviewTokenKey", "c2hvcnQ=", "Sessions:PreviewTokenKey")]
    [InlineData("Sessions:PreviewTokenKey", "not base64!", "Sessions:PreviewTokenKey")]
    public async Task Start_WithBadSetting_FailsNamingIt(string name, string value, string named)
    {
        var redis = await servers.RedisAsync();

        var error = Assert.ThrowsAny<Exception>(() => GatewayServer.Start(redis, new Dictionary<string, string?> { [name] = value }));

        Assert.Contains(named, Flatten(error), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_GoodSettings_Succeeds()
    {
        var options = new GatewayOptions
        {
            PreviewDomain = "preview.example.com",
            CorsOrigins = "https://app.example.com, http://localhost:5173",
            WebSocketActivityTimeout = TimeSpan.FromHours(1),
            PreviewCookieSameSite = SameSiteMode.None,
        };

        var result = new GatewayOptionsValidator().Validate(null, options);

        Assert.True(result.Succeeded, result.FailureMessage);
        Assert.Equal(["https://app.example.com", "http://localhost:5173"], options.CorsOriginList());
    }

    private static string Flatten(Exception error) =>
        error is AggregateException aggregate
            ? string.Join('\n', aggregate.InnerExceptions.Select(Flatten))
            : error.Message + (error.InnerException is { } inner ? "\n" + Flatten(inner) : "");
}
