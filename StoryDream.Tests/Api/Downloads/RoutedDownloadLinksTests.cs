using System.Net;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StoryDream.Api.Downloads;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Tests.Api.Downloads;

/// <summary>The emulator path: the same interface, served by the API's owner-checked route.</summary>
public sealed class RoutedDownloadLinksTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Download_LinkOfTheOwner_ServesTheObjectWithoutABearerToken()
    {
        var (user, project, bytes, objectName) = await ExportAsync();

        var link = await api.Service<IDownloadLinks>().CreateAsync(user, project, objectName, "My video.mp4", Ct);
        using var anonymous = api.Client();
        using var response = await anonymous.GetAsync(link.Url, Ct);

        Assert.False(link.Url.IsAbsoluteUri);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("My video.mp4", response.Content.Headers.ContentDisposition?.FileNameStar);
        Assert.True(link.ExpiresAt > DateTimeOffset.UtcNow && link.ExpiresAt <= DateTimeOffset.UtcNow.AddMinutes(10));
    }

    [Fact(Timeout = 60_000)]
    public async Task Download_LinkIssuedToAnotherUser_404()
    {
        var (_, project, _, objectName) = await ExportAsync();

        var link = await api.Service<IDownloadLinks>().CreateAsync(ApiFixture.NewUser(), project, objectName, "x.mp4", Ct);
        using var response = await api.Client().GetAsync(link.Url, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact(Timeout = 60_000)]
    public async Task Download_TamperedOrReusedForAnotherProject_404()
    {
        var (user, project, _, objectName) = await ExportAsync();
        var (_, otherProject, _, _) = await ExportAsync(user);
        var link = (await api.Service<IDownloadLinks>().CreateAsync(user, project, objectName, "x.mp4", Ct)).Url.ToString();

        using var client = api.Client();
        using var tampered = await client.GetAsync(link.Replace("/downloads/v1.", "/downloads/v1.0", StringComparison.Ordinal), Ct);
        using var moved = await client.GetAsync(link.Replace(project, otherProject, StringComparison.Ordinal), Ct);
        using var posted = await client.PostAsync(link, null, Ct);

        Assert.Equal(HttpStatusCode.NotFound, tampered.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, moved.StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, posted.StatusCode);
    }

    [Fact]
    public void Validate_AfterExpiry_Refused()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tokens = DownloadTokens.FromPreviewKey(new byte[32], time);
        var token = tokens.Issue("user-1", "p-1", "assets/p-1/exports/e.mp4", time.GetUtcNow().AddMinutes(10));

        var fresh = tokens.Validate(token, "p-1");
        time.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(("user-1", "assets/p-1/exports/e.mp4"), fresh);
        Assert.Null(tokens.Validate(token, "p-1"));
    }

    private async Task<(string User, string Project, byte[] Bytes, string ObjectName)> ExportAsync(string? user = null)
    {
        user ??= ApiFixture.NewUser();
        using var client = api.Client(user);
        var project = await ApiFixture.CreateProjectAsync(client);
        var bytes = new byte[100_000];
        Random.Shared.NextBytes(bytes);
        var objectName = $"assets/{project.Id}/exports/{Guid.NewGuid():N}.mp4";
        using var source = new MemoryStream(bytes);
        var storage = api.Service<IOptions<StorageOptions>>().Value;
        await api.Service<StorageClient>().UploadObjectAsync(api.Bucket, objectName, "video/mp4", source, storage.Upload(), cancellationToken: Ct);
        return (user, project.Id, bytes, objectName);
    }
}
