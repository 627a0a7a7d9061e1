using StoryDream.Api.Auth;

namespace StoryDream.Tests.Api;

public sealed class ApiKeyFormatTests
{
    [Fact]
    public void ClientId_NewKey_NamesItsClient()
    {
        var clientId = Guid.NewGuid().ToString("D");
        var key = ApiKeyFormat.New(clientId);

        Assert.Equal(clientId, ApiKeyFormat.ClientId(key));
        Assert.True(ApiKeyFormat.Verify(key, ApiKeyFormat.Hash(key)));
    }

    [Fact]
    public void Verify_OtherKeyOfSameClient_False()
    {
        var clientId = Guid.NewGuid().ToString("D");

        Assert.False(ApiKeyFormat.Verify(ApiKeyFormat.New(clientId), ApiKeyFormat.Hash(ApiKeyFormat.New(clientId))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("sdk_")]
    [InlineData("sdk_not-a-guid-at-all-not-a-guid-at-al_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("xyz_6F1C0A52-5B7E-4F7E-9A43-1C2D3E4F5A6B_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void ClientId_Malformed_Null(string key) => Assert.Null(ApiKeyFormat.ClientId(key));

    [Fact]
    public void Hash_IsNotTheKey()
    {
        var key = ApiKeyFormat.New(Guid.NewGuid().ToString("D"));

        Assert.DoesNotContain(key[^20..], ApiKeyFormat.Hash(key), StringComparison.Ordinal);
        Assert.Equal(64, ApiKeyFormat.Hash(key).Length);
    }
}
