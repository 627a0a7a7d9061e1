using Microsoft.Extensions.DependencyInjection;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Storage;

namespace GoogleCloudBench;

/// <summary>
/// Upload and download of 1 KB and 1 MB objects against the Storage emulator: through <see cref="StorageClient"/>
/// (as registered by AddGoogleCloud, CRC-32C checks included), through a bare HttpClient making the same JSON API
/// calls (the HTTP stack alone), and through curl. Every call of an operation writes or reads the same object, so
/// the emulator holds one object per size and way whatever N is.
/// </summary>
internal sealed class GcsSection : IBenchmarkSection
{
    public string Name => "gcs";

    public async Task RunAsync(BenchmarkContext context)
    {
        var host = await context.ServerAsync("storage.sh");
        await using var services = BenchmarkContext.GoogleCloudServices((nameof(GoogleCloudOptions.StorageEmulatorHost), host));
        var client = services.GetRequiredService<StorageClient>();
        using var bare = new HttpClient();
        var bucket = $"bench-{Guid.NewGuid():N}"[..18];
        var owner = new Dictionary<string, string> { ["Authorization"] = "Bearer owner" };
        // curl asks for 100-continue before large bodies and HttpClient does not; an empty Expect header stops it.
        var ownerUpload = new Dictionary<string, string> { ["Authorization"] = "Bearer owner", ["Content-Type"] = "application/octet-stream", ["Expect"] = "" };

        Latency.PrintHeader($"Storage emulator at {host}, bucket {bucket}", throughput: true);
        foreach (var (size, label) in new[] { (1024, "1 KB"), (1024 * 1024, "1 MB") })
        {
            var payload = new byte[size];
            Random.Shared.NextBytes(payload);
            var payloadFile = Path.Combine(Path.GetTempPath(), $"googlecloud-bench-{Guid.NewGuid():N}.bin");
            await File.WriteAllBytesAsync(payloadFile, payload);
            try
            {
                var name = $"bench/{size}";
                string UploadUrl(string way) => $"http://{host}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={Uri.EscapeDataString($"{name}-{way}")}";
                var downloadUrl = $"http://{host}/storage/v1/b/{bucket}/o/{Uri.EscapeDataString(name)}?alt=media";

                Way[] upload =
                [
                    Way.InProcess("StorageClient", () => client.UploadAsync(bucket, $"{name}-client", payload)),
                    BareHttp.Way(bare, HttpMethod.Post, UploadUrl("bare"), payload, "application/octet-stream"),
                    Curl.Way(new Curl.Request("POST", UploadUrl("curl"), ownerUpload, payloadFile)),
                ];
                Latency.PrintRows($"upload, {label}", upload, await Latency.MeasureAsync(context.N, context.Warmup, upload), size);

                await client.UploadAsync(bucket, name, payload);
                Way[] download =
                [
                    Way.InProcess("StorageClient", () => client.DownloadAsync(bucket, name, Stream.Null)),
                    BareHttp.Way(bare, HttpMethod.Get, downloadUrl),
                    Curl.Way(new Curl.Request("GET", downloadUrl, owner)),
                ];
                Latency.PrintRows($"download, {label}", download, await Latency.MeasureAsync(context.N, context.Warmup, download), size);
            }
            finally
            {
                File.Delete(payloadFile);
            }
        }
    }
}
