using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using StoryDream.Sessions;

namespace StoryDream.Tests.Sessions;

public sealed class PreviewTokensTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-23T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void Validate_FreshToken_ReturnsUser()
    {
        var tokens = new PreviewTokens(_key, _time);
        var token = tokens.Issue("s1", "alice@example.com", TimeSpan.FromMinutes(5));

        Assert.Equal("alice@example.com", tokens.Validate(token, "s1"));
    }

    [Fact]
    public void Validate_Expired_ReturnsNull()
    {
        var tokens = new PreviewTokens(_key, _time);
        var token = tokens.Issue("s1", "alice", TimeSpan.FromMinutes(5));
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Null(tokens.Validate(token, "s1"));
    }

    [Fact]
    public void Validate_OtherSession_ReturnsNull()
    {
        var tokens = new PreviewTokens(_key, _time);
        var token = tokens.Issue("s1", "alice", TimeSpan.FromMinutes(5));

        Assert.Null(tokens.Validate(token, "s2"));
    }

    [Fact]
    public void Validate_OtherKey_ReturnsNull()
    {
        var token = new PreviewTokens(RandomNumberGenerator.GetBytes(32), _time).Issue("s1", "alice", TimeSpan.FromMinutes(5));

        Assert.Null(new PreviewTokens(_key, _time).Validate(token, "s1"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("v1.s1.YWxpY2U.9999999999.AAAA")]
    [InlineData("v2.s1.YWxpY2U.9999999999.AAAA")]
    [InlineData("not-a-token")]
    public void Validate_Forged_ReturnsNull(string token) =>
        Assert.Null(new PreviewTokens(_key, _time).Validate(token, "s1"));

    [Fact]
    public void Validate_TamperedExpiry_ReturnsNull()
    {
        var tokens = new PreviewTokens(_key, _time);
        var parts = tokens.Issue("s1", "alice", TimeSpan.FromMinutes(5)).Split('.');
        parts[3] = "9999999999";

        Assert.Null(tokens.Validate(string.Join('.', parts), "s1"));
    }

    [Fact]
    public void Constructor_ShortKey_Throws() =>
        Assert.Throws<ArgumentException>(() => new PreviewTokens(new byte[16], _time));
}
