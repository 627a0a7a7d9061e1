using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace StoryDream.Tests.Infrastructure;

public sealed class TestServersTests(TestServers servers)
{
    [Fact]
    public async Task Redis_Started_AnswersPing()
    {
        var endpoint = await servers.RedisAsync();
        var (host, port) = Split(endpoint);
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, TestContext.Current.CancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray(), TestContext.Current.CancellationToken);
        var buffer = new byte[16];
        var read = await stream.ReadAsync(buffer, TestContext.Current.CancellationToken);
        Assert.Equal("+PONG\r\n", System.Text.Encoding.ASCII.GetString(buffer, 0, read));
    }

    [Fact]
    public async Task Firestore_Started_AnswersHttp()
    {
        var endpoint = await servers.FirestoreEmulatorHostAsync();
        using var http = new HttpClient();
        var body = await http.GetStringAsync(new Uri($"http://{endpoint}/"), TestContext.Current.CancellationToken);
        Assert.Contains("Ok", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Storage_ObjectUploaded_DownloadsAndListsTheSameBytes()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = await StorageClientAsync();
        var bucket = $"test-{Guid.NewGuid():N}";
        var name = Uri.EscapeDataString($"dir/{Guid.NewGuid():N}.bin");
        var bytes = Guid.NewGuid().ToByteArray();

        using var upload = await http.PostAsync(new Uri($"upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}", UriKind.Relative), new ByteArrayContent(bytes), ct);
        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        var downloaded = await http.GetByteArrayAsync(new Uri($"storage/v1/b/{bucket}/o/{name}?alt=media", UriKind.Relative), ct);
        Assert.Equal(bytes, downloaded);
        using var list = JsonDocument.Parse(await http.GetStringAsync(new Uri($"storage/v1/b/{bucket}/o?prefix=dir/", UriKind.Relative), ct));
        var item = Assert.Single(list.RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal(Uri.UnescapeDataString(name), item.GetProperty("name").GetString());
        Assert.Equal(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), item.GetProperty("size").GetString());
    }

    [Fact]
    public async Task Storage_EmptyBucket_ListsNoItems()
    {
        using var http = await StorageClientAsync();
        using var list = JsonDocument.Parse(await http.GetStringAsync(new Uri($"storage/v1/b/test-{Guid.NewGuid():N}/o", UriKind.Relative), TestContext.Current.CancellationToken));
        Assert.Equal("storage#objects", list.RootElement.GetProperty("kind").GetString());
        Assert.False(list.RootElement.TryGetProperty("items", out _));
    }

    [Fact]
    public void GceMetadataHost_InTests_PointsAtLoopback()
    {
        var value = Environment.GetEnvironmentVariable("GCE_METADATA_HOST");
        Assert.NotNull(value);
        Assert.StartsWith("127.0.0.1:", value, StringComparison.Ordinal);
    }

    private async Task<HttpClient> StorageClientAsync()
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://{await servers.StorageEmulatorHostAsync()}/"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "owner");
        return http;
    }

    private static (string Host, int Port) Split(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        return (endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
