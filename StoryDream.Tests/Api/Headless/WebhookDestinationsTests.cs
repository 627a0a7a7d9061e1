using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StoryDream.Api.Webhooks;

namespace StoryDream.Tests.Api.Headless;

public sealed class WebhookDestinationsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WebhookDestinations Production() => new(Options.Create(new WebhookOptions()));

    private static WebhookDestinations LoopbackAllowed() => new(Options.Create(new WebhookOptions { AllowLoopback = true, RequireHttps = false }));

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("::1")]
    [InlineData("169.254.42.42")]
    [InlineData("169.254.1.1")]
    [InlineData("fe80::1")]
    [InlineData("10.1.2.3")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.0.1")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("fd00:ec2::254")]
    [InlineData("::ffff:169.254.42.42")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("224.0.0.1")]
    public void Problem_InternalAddressInProduction_Refused(string address) =>
        Assert.NotNull(Production().Problem(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("2606:4700::1111")]
    public void Problem_PublicAddress_Allowed(string address) => Assert.Null(Production().Problem(IPAddress.Parse(address)));

    [Fact]
    public void Problem_LoopbackAllowedByConfiguration_OnlyLoopbackLetThrough()
    {
        var destinations = LoopbackAllowed();

        Assert.Null(destinations.Problem(IPAddress.Loopback));
        Assert.Null(destinations.Problem(IPAddress.IPv6Loopback));
        Assert.NotNull(destinations.Problem(IPAddress.Parse("169.254.42.42")));
        Assert.NotNull(destinations.Problem(IPAddress.Parse("10.0.0.1")));
    }

    [Theory]
    [InlineData("http://example.com/hook", "https")]
    [InlineData("https://localhost/hook", "loopback")]
    [InlineData("https://127.0.0.1/hook", "loopback")]
    [InlineData("https://[::1]/hook", "loopback")]
    [InlineData("https://169.254.42.42/latest", "link-local")]
    [InlineData("https://user:secret@example.com/", "password")]
    [InlineData("relative/path", "absolute")]
    public async Task CheckUrl_RefusedInProduction_SaysWhy(string url, string reason)
    {
        var problem = await Production().CheckUrlAsync(url, Ct);

        Assert.NotNull(problem);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task Client_NameResolvingToLoopbackAtConnectTime_RefusedBeforeAnyRequest()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var client = Production().CreateClient();
        // Registration would have refused this URL; the connect-time check holds even when the name resolves differently later.
        var url = new UriBuilder(receiver.Url) { Host = "localhost" }.Uri;

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync(url, new StringContent("{}"), Ct));

        Assert.IsType<WebhookDestinationRefusedException>(error.InnerException);
        Assert.Empty(receiver.Deliveries);
    }

    [Fact(Timeout = 30_000)]
    public async Task Client_RedirectAnswer_NotFollowed()
    {
        await using var target = await WebhookReceiver.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        await using var redirecting = builder.Build();
        redirecting.MapPost("/hooks", (HttpContext context) => Results.Redirect(target.Url.ToString(), permanent: false, preserveMethod: true));
        await redirecting.StartAsync(Ct);
        using var client = LoopbackAllowed().CreateClient();

        using var response = await client.PostAsync(new Uri(redirecting.Urls.First() + "/hooks"), new StringContent("{}"), Ct);

        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Empty(target.Deliveries);
    }
}
