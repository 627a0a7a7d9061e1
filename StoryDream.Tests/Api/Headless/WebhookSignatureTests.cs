using System.Text;
using StoryDream.Api.Webhooks;

namespace StoryDream.Tests.Api.Headless;

public sealed class WebhookSignatureTests
{
    private const string Secret = "whsec_test-secret";
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"d-1","type":"job.completed","data":{"jobId":"j-1"}}""");

    [Fact]
    public void Verify_SignedNow_Accepted()
    {
        var header = WebhookSignature.Sign(Secret, Now, Body);

        Assert.Matches("^t=[0-9]+,v1=[0-9a-f]{64}$", header);
        Assert.True(WebhookSignature.Verify(Secret, header, Body, Now.AddSeconds(30), WebhookSignature.DefaultTolerance));
    }

    [Fact]
    public void Verify_TamperedBody_Rejected()
    {
        var header = WebhookSignature.Sign(Secret, Now, Body);
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Body).Replace("j-1", "j-2", StringComparison.Ordinal));

        Assert.False(WebhookSignature.Verify(Secret, header, tampered, Now, WebhookSignature.DefaultTolerance));
    }

    [Fact]
    public void Verify_TamperedSignatureOrTimestamp_Rejected()
    {
        var header = WebhookSignature.Sign(Secret, Now, Body);
        var flipped = header[..^1] + (header[^1] == '0' ? '1' : '0');
        var moved = header.Replace($"t={Now.ToUnixTimeSeconds()}", $"t={Now.ToUnixTimeSeconds() + 1}", StringComparison.Ordinal);

        Assert.False(WebhookSignature.Verify(Secret, flipped, Body, Now, WebhookSignature.DefaultTolerance));
        Assert.False(WebhookSignature.Verify(Secret, moved, Body, Now, WebhookSignature.DefaultTolerance));
        Assert.False(WebhookSignature.Verify("whsec_other", header, Body, Now, WebhookSignature.DefaultTolerance));
    }

    [Fact]
    public void Verify_StaleOrFutureTimestamp_Rejected()
    {
        var header = WebhookSignature.Sign(Secret, Now, Body);

        Assert.False(WebhookSignature.Verify(Secret, header, Body, Now.AddMinutes(6), WebhookSignature.DefaultTolerance));
        Assert.False(WebhookSignature.Verify(Secret, header, Body, Now.AddMinutes(-6), WebhookSignature.DefaultTolerance));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1=abc")]
    [InlineData("t=1765022400")]
    [InlineData("t=abc,v1=0000000000000000000000000000000000000000000000000000000000000000")]
    public void Verify_MalformedHeader_Rejected(string? header) =>
        Assert.False(WebhookSignature.Verify(Secret, header, Body, Now, WebhookSignature.DefaultTolerance));
}
