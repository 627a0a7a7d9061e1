using System.Net.Sockets;

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
    public void GceMetadataHost_InTests_PointsAtLoopback()
    {
        var value = Environment.GetEnvironmentVariable("GCE_METADATA_HOST");
        Assert.NotNull(value);
        Assert.StartsWith("127.0.0.1:", value, StringComparison.Ordinal);
    }

    private static (string Host, int Port) Split(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        return (endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}
