using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using StoryDream.Api.Sessions;
using StoryDream.Tests.Api.Sessions;

namespace StoryDream.Tests.Api.Assets;

public sealed class AssetsApiTests(AssetBedFixture fixture) : IClassFixture<AssetBedFixture>
{
    // A whole 1×1 PNG.
    private static readonly byte[] Png = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 60_000)]
    public async Task Upload_Png_StoredUnderPublicInAVersionByTheUserListedAndDeleted()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);

        var response = await client.PostAsync($"api/projects/{project.Id}/assets", Upload(Png, "logo.png"), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var asset = (await response.Content.ReadFromJsonAsync<Asset>(Ct))!;
        Assert.Equal(("logo.png", "public/logo.png", (long)Png.Length, "image/png"), (asset.Name, asset.Path, asset.Size, asset.ContentType));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Png)), asset.Sha256);
        var history = await client.GetFromJsonAsync<JsonElement>($"api/projects/{project.Id}/snapshots", Ct);
        var newest = history.GetProperty("items")[0];
        Assert.Equal(asset.SnapshotId, newest.GetProperty("id").GetString());
        Assert.Equal("user", newest.GetProperty("author").GetString());
        Assert.Equal(Png, await client.GetByteArrayAsync($"api/projects/{project.Id}/files/public/logo.png", Ct));
        var listed = await client.GetFromJsonAsync<AssetList>($"api/projects/{project.Id}/assets", Ct);
        Assert.Equal("logo.png", Assert.Single(listed!.Items).Name);

        var deleted = await client.DeleteAsync($"api/projects/{project.Id}/assets/logo.png", Ct);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty((await client.GetFromJsonAsync<AssetList>($"api/projects/{project.Id}/assets", Ct))!.Items);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync($"api/projects/{project.Id}/assets/logo.png", Ct)).StatusCode);
    }

    public static TheoryData<string, byte[], string, int> BadUploads()
    {
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"u8.ToArray();
        var jpeg = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 0x4A, 0x46, 0x49, 0x46, 0, 1, 0xFF, 0xD9 };
        return new()
        {
            { "svg is refused", svg, "logo.svg", 415 },
            { "svg named as a png", svg, "logo.png", 415 },
            { "text", "hello"u8.ToArray(), "notes.png", 415 },
            { "jpeg bytes named .png", jpeg, "photo.png", 400 },
            { "truncated png", Png[..^12], "logo.png", 400 },
            { "climbing name", Png, "../../src/App.png", 400 },
            { "folder in the name", Png, "src/logo.png", 400 },
            { "hidden name", Png, ".logo.png", 400 },
            { "backslash", Png, "..\\logo.png", 400 },
            { "control character", Png, "lo\u0001go.png", 400 },
            { "too big", [.. Png, .. new byte[AssetBedFixture.MaxBytes]], "big.png", 413 },
        };
    }

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(BadUploads))]
    public async Task Upload_BadFile_ProblemAndNothingStored(string why, byte[] content, string name, int status)
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);

        var response = await client.PostAsync($"api/projects/{project.Id}/assets", Upload(content, name), Ct);

        Assert.True(status == (int)response.StatusCode, $"{why}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        if (status == 400)
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.True(problem.GetProperty("errors").TryGetProperty("file", out _), why);
        }
        var listed = await client.GetFromJsonAsync<AssetList>($"api/projects/{project.Id}/assets", Ct);
        Assert.Empty(listed!.Items);
        Assert.Equal(project.HeadSnapshotId, listed.SnapshotId);
    }

    [Fact(Timeout = 60_000)]
    public async Task Upload_NotMultipartOrTwoFilesOrCutShort_ProblemAndNothingStored()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var two = Upload(Png, "a.png");
        two.Add(new ByteArrayContent(Png) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } }, "file", "b.png");
        var full = Upload(Png, "logo.png");
        var whole = await full.ReadAsByteArrayAsync(Ct);
        var cut = new ByteArrayContent(whole[..(whole.Length / 2)]);
        cut.Headers.ContentType = full.Headers.ContentType;

        var raw = await client.PostAsync($"api/projects/{project.Id}/assets", new ByteArrayContent(Png) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } }, Ct);
        var twoFiles = await client.PostAsync($"api/projects/{project.Id}/assets", two, Ct);
        var truncated = await client.PostAsync($"api/projects/{project.Id}/assets", cut, Ct);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, raw.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, twoFiles.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, truncated.StatusCode);
        Assert.Empty((await client.GetFromJsonAsync<AssetList>($"api/projects/{project.Id}/assets", Ct))!.Items);
    }

    [Fact(Timeout = 60_000)]
    public async Task Upload_ChunkedAndLargerThanOtherRequestsMayBe_Stored()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        // A PNG with a 600 KB private chunk: over the fixture's 256 KiB limit for other bodies, within the upload limit.
        var big = new byte[Png.Length + 600_000 + 12];
        Png.AsSpan(0, 33).CopyTo(big);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(big.AsSpan(33), 600_000);
        "prVt"u8.CopyTo(big.AsSpan(37));
        Png.AsSpan(33).CopyTo(big.AsSpan(33 + 12 + 600_000));
        var upload = Upload(big, "large.png");
        upload.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/projects/{project.Id}/assets") { Content = upload };
        request.Headers.TransferEncodingChunked = true;

        var response = await client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(big, await client.GetByteArrayAsync($"api/projects/{project.Id}/files/public/large.png", Ct));
        var tooBig = await client.PostAsync("api/projects", new ByteArrayContent(new byte[300 * 1024]) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } }, Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task EveryRoute_ForeignProject_404()
    {
        using var owner = Bed.Api.Client(SessionTestBed.NewUser());
        using var stranger = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(owner, Ct);
        Assert.Equal(HttpStatusCode.Created, (await owner.PostAsync($"api/projects/{project.Id}/assets", Upload(Png, "logo.png"), Ct)).StatusCode);

        var responses = new[]
        {
            await stranger.GetAsync($"api/projects/{project.Id}/assets", Ct),
            await stranger.PostAsync($"api/projects/{project.Id}/assets", Upload(Png, "mine.png"), Ct),
            await stranger.DeleteAsync($"api/projects/{project.Id}/assets/logo.png", Ct),
            await owner.DeleteAsync($"api/projects/{project.Id}/assets/..%2Fsrc%2FApp.tsx", Ct),
        };

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.NotFound, r.StatusCode));
        Assert.Equal("logo.png", Assert.Single((await owner.GetFromJsonAsync<AssetList>($"api/projects/{project.Id}/assets", Ct))!.Items).Name);
    }

    [Fact(Timeout = 180_000)]
    public async Task Upload_SessionRunning_LoadedIntoTheSessionsPublicFolder()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var start = await client.PostAsync($"api/projects/{project.Id}/session", null, Ct);
        Assert.Equal(HttpStatusCode.OK, start.StatusCode);
        var session = (await start.Content.ReadFromJsonAsync<SessionResponse>(Ct))!;

        var response = await client.PostAsync($"api/projects/{project.Id}/assets", Upload(Png, "logo.png"), Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var file = Path.Combine(Bed.Workspace(session.Id), "public", "logo.png");
        await SessionsApiTests.WaitUntilAsync(() => Task.FromResult(File.Exists(file) && new FileInfo(file).Length == Png.Length));
        Assert.Equal(Png, await File.ReadAllBytesAsync(file, Ct));
    }

    private static MultipartFormDataContent Upload(byte[] content, string name)
    {
        var part = new ByteArrayContent(content);
        // The header lies on purpose: the type is judged from the bytes.
        part.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        var form = new MultipartFormDataContent();
        form.Add(part, "file");
        // Set by hand, so hostile names reach the server exactly as written.
        part.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = "\"file\"", FileName = JsonSerializer.Serialize(name) };
        return form;
    }

    private sealed record Asset(string Name, string Path, long Size, string Sha256, string ContentType, string SnapshotId);

    private sealed record AssetList(IReadOnlyList<Asset> Items, string SnapshotId);
}
