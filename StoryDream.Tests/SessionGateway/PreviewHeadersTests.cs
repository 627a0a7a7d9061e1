using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using StoryDream.SessionGateway.Preview;

namespace StoryDream.Tests.SessionGateway;

public sealed class PreviewHeadersTests
{
    [Theory]
    [InlineData("sd_preview=abc", null)]
    [InlineData("theme=dark; sd_preview=abc; lang=en", "theme=dark; lang=en")]
    [InlineData("xsd_preview=keep; sd_preview=abc", "xsd_preview=keep")]
    [InlineData("theme=dark", "theme=dark")]
    [InlineData("sd_session=x; theme=dark; __Host-sd_auth=y; __Secure-SD_other=z", "theme=dark")]
    public void WithoutPlatformCookies_DropsOnlyThePlatformsCookies(string header, string? expected) =>
        Assert.Equal(expected, PreviewTransformer.WithoutPlatformCookies(new StringValues(header)));

    [Theory]
    [InlineData("sd_preview=abc; Path=/", true)]
    [InlineData("__Host-sd_x=1; Secure; Path=/", true)]
    [InlineData("__secure-SD_y=1", true)]
    [InlineData("theme=dark; Path=/", false)]
    [InlineData("xsd_preview=1", false)]
    public void IsPlatformCookie_MatchesThePlatformsNamesOnly(string setCookie, bool expected) =>
        Assert.Equal(expected, PreviewTransformer.IsPlatformCookie(setCookie));

    [Theory]
    [InlineData("a=1; sd_preview=v1.x.y; b=2", "v1.x.y")]
    [InlineData("xsd_preview=no", "")]
    [InlineData("", "")]
    public void FindCookie_ReadsOnlyTheExactName(string header, string expected) =>
        Assert.Equal(expected, PreviewCookies.Find(new StringValues(header)).ToString());

    [Theory]
    [InlineData("?sd_token=t", "")]
    [InlineData("?a=1&sd_token=t&b=2", "?a=1&b=2")]
    [InlineData("?sd%5Ftoken=t&v=abc", "?v=abc")]
    [InlineData("?sd_tokenx=1", "?sd_tokenx=1")]
    [InlineData("", "")]
    public void WithoutToken_RemovesTheTokenKeepsTheRest(string query, string expected) =>
        Assert.Equal(expected, PreviewForwarder.WithoutToken(new QueryString(query.Length == 0 ? null : query)).Value ?? "");

    [Theory]
    [InlineData("abc.preview.localhost:5000", "abc")]
    [InlineData("abc.PREVIEW.localhost", "abc")]
    [InlineData("preview.localhost:5000", "")]
    [InlineData("localhost:5000", "")]
    [InlineData("abc.preview.localhost.evil.example", "")]
    [InlineData("[::1]:5000", "")]
    public void SessionLabel_ReadsTheFirstLabelOfPreviewHostsOnly(string host, string expected) =>
        Assert.Equal(expected, PreviewEndpoints.SessionLabel(host, ".preview.localhost").ToString());
}
