using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Api.Gax;
using Google.Apis.Auth.OAuth2;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
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
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 23, 40, 5, TimeSpan.Zero));
    private readonly string _projectId = Guid.NewGuid().ToString("D");

    [Fact]
    public async Task Create_ProjectAsset_V4UrlBoundToGetExpiringWithTheLifetime()
    {
        var link = await Links().CreateAsync("user-1", _projectId, $"assets/{_projectId}/exports/e1.mp4", "My video.mp4", TestContext.Current.CancellationToken);

        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(10), link.ExpiresAt);
        var url = link.Url;
        Assert.Equal(("https", "storage.googleapis.com"), (url.Scheme, url.Host));
        Assert.Equal($"/storydream-data/assets/{_projectId}/exports/e1.mp4", url.AbsolutePath);
        var query = Query(url);
        Assert.Equal("GOOG4-RSA-SHA256", query["X-Goog-Algorithm"]);
        Assert.Equal($"{Account}/20261206/auto/storage/goog4_request", query["X-Goog-Credential"]);
        Assert.Equal("20261206T234005Z", query["X-Goog-Date"]);
        Assert.Equal("600", query["X-Goog-Expires"]);
        Assert.Equal("host", query["X-Goog-SignedHeaders"]);
        Assert.Contains("My video.mp4", query["response-content-disposition"], StringComparison.Ordinal);
        Assert.True(Verifies(url, "GET"));
        Assert.False(Verifies(url, "PUT"));
        Assert.False(Verifies(new Uri(url.ToString().Replace("e1.mp4", "e2.mp4", StringComparison.Ordinal)), "GET"));
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

    private SignedDownloadLinks Links()
    {
        var credential = new ServiceAccountCredential(new ServiceAccountCredential.Initializer(Account).FromPrivateKey(_key.ExportPkcs8PrivateKeyPem()));
        var signer = UrlSigner.FromCredential(credential).WithClock(new Clock(_time));
        return new SignedDownloadLinks(signer, Options.Create(new StorageOptions()), Options.Create(new DownloadLinkOptions()), _time);
    }

    /// <summary>Cloud Storage's check of a V4 signature: the canonical request of this method, hashed into the string to sign.</summary>
    private bool Verifies(Uri url, string method)
    {
        var raw = url.GetComponents(UriComponents.Query, UriFormat.UriEscaped).Split('&')
            .Select(pair => pair.Split('=', 2)).ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
        var signature = Convert.FromHexString(raw["X-Goog-Signature"]);
        var canonicalQuery = string.Join('&', raw.Where(p => p.Key != "X-Goog-Signature").OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        var canonicalRequest = $"{method}\n{url.GetComponents(UriComponents.Path | UriComponents.KeepDelimiter, UriFormat.UriEscaped)}\n{canonicalQuery}\nhost:{url.Host}\n\nhost\nUNSIGNED-PAYLOAD";
        var date = Uri.UnescapeDataString(raw["X-Goog-Date"]);
        var stringToSign = $"GOOG4-RSA-SHA256\n{date}\n{date[..8]}/auto/storage/goog4_request\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";
        return _key.VerifyData(Encoding.UTF8.GetBytes(stringToSign), signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
    }

    private static Dictionary<string, string> Query(Uri url) =>
        url.Query.TrimStart('?').Split('&').Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => Uri.UnescapeDataString(pair[1]), StringComparer.Ordinal);

    private sealed class Clock(TimeProvider time) : IClock
    {
        public DateTime GetCurrentDateTimeUtc() => time.GetUtcNow().UtcDateTime;
    }
}
