using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Apis.Auth.OAuth2;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Options;
using StoryDream.Api.Downloads;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Tests.Api.Downloads;

/// <summary>
/// The production path, offline: the library's <see cref="UrlSigner"/> over a service-account key made here, and the
/// URL checked the way Cloud Storage checks it (the V4 canonical request, signed with that key).
/// </summary>
public sealed class SignedDownloadLinksTests : IDisposable
{
    private const string Account = "links@storydream-test.iam.gserviceaccount.com";
    private readonly RSA _key = RSA.Create(2048);
    private readonly string _projectId = Guid.NewGuid().ToString("D");

    [Fact]
    public async Task Create_ProjectAsset_V4UrlBoundToGetExpiringWithTheLifetime()
    {
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var link = await Links().CreateAsync("user-1", _projectId, $"assets/{_projectId}/exports/e1.mp4", "My video.mp4", TestContext.Current.CancellationToken);
        var after = DateTimeOffset.UtcNow.AddSeconds(1);

        var url = link.Url;
        Assert.Equal(("https", "storage.googleapis.com"), (url.Scheme, url.Host));
        Assert.Equal($"/storydream-data/assets/{_projectId}/exports/e1.mp4", url.AbsolutePath);
        var query = Query(url);
        var signedAt = DateTimeOffset.ParseExact(query["X-Goog-Date"], "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        Assert.InRange(signedAt, before, after);
        Assert.Equal("GOOG4-RSA-SHA256", query["X-Goog-Algorithm"]);
        Assert.Equal($"{Account}/{signedAt:yyyyMMdd}/auto/storage/goog4_request", query["X-Goog-Credential"]);
        Assert.Equal("600", query["X-Goog-Expires"]);
        Assert.Equal("host", query["X-Goog-SignedHeaders"]);
        Assert.InRange(link.ExpiresAt, signedAt.AddSeconds(599), signedAt.AddSeconds(601));
        Assert.Contains("My video.mp4", query["response-content-disposition"], StringComparison.Ordinal);
        Assert.True(Verifies(url.OriginalString, "GET"));
        Assert.False(Verifies(url.OriginalString, "PUT"));
        Assert.False(Verifies(url.OriginalString, "DELETE"));
    }

    [Theory]
    [InlineData("/exports/e1.mp4", "/exports/e2.mp4")]
    [InlineData("X-Goog-Expires=600", "X-Goog-Expires=604800")]
    [InlineData("X-Goog-Date=20", "X-Goog-Date=21")]
    [InlineData("My%20video", "Your%20video")]
    public async Task Create_UrlTampered_SignatureNoLongerVerifies(string original, string tampered)
    {
        var url = (await Links().CreateAsync("user-1", _projectId, $"assets/{_projectId}/exports/e1.mp4", "My video.mp4", TestContext.Current.CancellationToken))
            .Url.OriginalString;

        Assert.Contains(original, url, StringComparison.Ordinal);
        Assert.True(Verifies(url, "GET"));
        Assert.False(Verifies(url.Replace(original, tampered, StringComparison.Ordinal), "GET"));
    }

    [Fact]
    public async Task Create_ConfiguredLifetime_SignedIntoTheUrl()
    {
        var link = await Links(TimeSpan.FromSeconds(45)).CreateAsync("user-1", _projectId, $"assets/{_projectId}/e.bin", "e.bin", TestContext.Current.CancellationToken);

        Assert.Equal("45", Query(link.Url)["X-Goog-Expires"]);
        Assert.True(Verifies(link.Url.OriginalString, "GET"));
    }

    [Theory]
    [InlineData("repos/{0}/snapshots/x.json")]
    [InlineData("assets/other-project/exports/e.mp4")]
    [InlineData("assets/{0}/../other/e.mp4")]
    [InlineData("assets/{0}/")]
    public async Task Create_ObjectOutsideTheProjectsAssets_Refused(string pattern)
    {
        var name = string.Format(CultureInfo.InvariantCulture, pattern, _projectId);

        await Assert.ThrowsAsync<ArgumentException>(() => Links().CreateAsync("user-1", _projectId, name, "x", TestContext.Current.CancellationToken));
    }

    public void Dispose() => _key.Dispose();

    private SignedDownloadLinks Links(TimeSpan? lifetime = null)
    {
        var credential = new ServiceAccountCredential(new ServiceAccountCredential.Initializer(Account).FromPrivateKey(_key.ExportPkcs8PrivateKeyPem()));
        var options = new DownloadLinkOptions();
        if (lifetime is { } configured) { options.LinkLifetime = configured; }
        return new SignedDownloadLinks(UrlSigner.FromCredential(credential), Options.Create(new StorageOptions()), Options.Create(options), TimeProvider.System);
    }

    /// <summary>
    /// Cloud Storage's check of a V4 signature: the canonical request of this method (path and query as sent), hashed into
    /// the string to sign, verified with the account's public key.
    /// </summary>
    private bool Verifies(string url, string method)
    {
        var queryStart = url.IndexOf('?', StringComparison.Ordinal);
        var authority = url.IndexOf('/', "https://".Length);
        var path = url[authority..queryStart];
        var host = url["https://".Length..authority];
        var raw = url[(queryStart + 1)..].Split('&').Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
        var signature = Convert.FromHexString(raw["X-Goog-Signature"]);
        var canonicalQuery = string.Join('&', raw.Where(p => p.Key != "X-Goog-Signature").OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        var canonicalRequest = $"{method}\n{path}\n{canonicalQuery}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD";
        var date = Uri.UnescapeDataString(raw["X-Goog-Date"]);
        var stringToSign = $"GOOG4-RSA-SHA256\n{date}\n{date[..8]}/auto/storage/goog4_request\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";
        return _key.VerifyData(Encoding.UTF8.GetBytes(stringToSign), signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    private static Dictionary<string, string> Query(Uri url) =>
        url.Query.TrimStart('?').Split('&').Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => Uri.UnescapeDataString(pair[1]), StringComparer.Ordinal);
}
