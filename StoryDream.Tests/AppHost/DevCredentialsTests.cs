using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StoryDream.AppHost.DevAuth;

namespace StoryDream.Tests.AppHost;

public sealed class DevCredentialsTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("storydream-dev-");

    [Fact]
    public void LoadOrCreate_SecondRun_ReusesTheKeys()
    {
        var first = DevCredentials.LoadOrCreate(_directory.FullName);
        var second = DevCredentials.LoadOrCreate(_directory.FullName);

        Assert.Equal(first.SigningKey, second.SigningKey);
        Assert.Equal(first.PreviewTokenKey, second.PreviewTokenKey);
        Assert.NotEqual(first.SigningKey, first.PreviewTokenKey);
        Assert.Equal(32, Convert.FromBase64String(first.SigningKey).Length);
        Assert.Equal(32, Convert.FromBase64String(first.PreviewTokenKey).Length);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void LoadOrCreate_NewKeys_AreReadableByTheOwnerOnly()
    {
        DevCredentials.LoadOrCreate(_directory.FullName);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_directory.FullName, DevCredentials.SigningKeyFile)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_directory.FullName, DevCredentials.PreviewTokenKeyFile)));
    }

    [Fact]
    public void LoadOrCreate_CorruptKeyFile_SaysHowToRecover()
    {
        File.WriteAllText(Path.Combine(_directory.FullName, DevCredentials.SigningKeyFile), "not base64 at all");

        var error = Assert.Throws<InvalidOperationException>(() => DevCredentials.LoadOrCreate(_directory.FullName));
        Assert.Contains("Delete it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MintToken_ValidatedLikeTheApi_CarriesTheDevUser()
    {
        var credentials = DevCredentials.LoadOrCreate(_directory.FullName);
        var token = credentials.MintToken(DateTimeOffset.UtcNow, TimeSpan.FromDays(30));

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, Parameters(credentials.SigningKey));

        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal(DevCredentials.UserId, result.Claims["sub"]);
        Assert.Equal(DevCredentials.UserEmail, result.Claims["email"]);
        Assert.Equal(DevCredentials.UserName, result.Claims["name"]);
        var exp = DateTimeOffset.FromUnixTimeSeconds(Convert.ToInt64(result.Claims["exp"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(exp, DateTimeOffset.UtcNow.AddDays(29), DateTimeOffset.UtcNow.AddDays(31));
    }

    [Fact]
    public async Task MintToken_CheckedWithAnotherKey_IsRejected()
    {
        var credentials = DevCredentials.LoadOrCreate(_directory.FullName);
        var token = credentials.MintToken(DateTimeOffset.UtcNow, TimeSpan.FromDays(30));

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, Parameters(credentials.PreviewTokenKey));

        Assert.False(result.IsValid);
    }

    [Fact]
    public async Task MintToken_Expired_IsRejected()
    {
        var credentials = DevCredentials.LoadOrCreate(_directory.FullName);
        var token = credentials.MintToken(DateTimeOffset.UtcNow.AddDays(-2), TimeSpan.FromDays(1));

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, Parameters(credentials.SigningKey));

        Assert.False(result.IsValid);
        Assert.IsType<SecurityTokenExpiredException>(result.Exception);
    }

    private static TokenValidationParameters Parameters(string base64Key) => new()
    {
        ValidIssuer = DevCredentials.Issuer,
        ValidAudience = DevCredentials.Audience,
        IssuerSigningKey = new SymmetricSecurityKey(Convert.FromBase64String(base64Key)),
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ClockSkew = TimeSpan.Zero,
    };

    public void Dispose() => _directory.Delete(recursive: true);
}
