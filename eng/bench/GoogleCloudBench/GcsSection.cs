using System.Net;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Storage;
using HandWrittenClient = GoogleCloudBench.HandWritten.StorageClient;
using HandWrittenOptions = GoogleCloudBench.HandWritten.StorageClientOptions;

namespace GoogleCloudBench;

/// <summary>
/// Upload and download of 1 KB and 1 MB objects against the Storage emulator: through Google.Cloud.Storage.V1 as the
/// services use it (the client AddGoogleCloud registers, <see cref="StorageClient.UploadObjectAsync(string, string, string, Stream, UploadObjectOptions, CancellationToken, IProgress{Google.Apis.Upload.IUploadProgress})"/>
/// with <see cref="StorageOptions.Upload"/> and DownloadObjectAsync with <see cref="StorageOptions.Download"/>, CRC-32C
/// checked both ways), through the hand-written JSON API client it replaced (kept under HandWritten/ for this comparison
/// only, as it was at 6c4cf2e), through a bare HttpClient making the same calls (the HTTP stack alone), and through curl.
/// To show where the library costs more: the first of its resumable upload's two requests alone, its upload without the
/// CRC-32C, its download whose caller hashes the content (the snapshot store: no CRC-32C), and its download defaults.
/// Every call of an operation writes or reads the same object.
/// </summary>
internal sealed class GcsSection : IBenchmarkSection
{
    public string Name => "gcs";

    public async Task RunAsync(BenchmarkContext context)
    {
        var host = await context.ServerAsync("storage.sh");
        await using var services = BenchmarkContext.GoogleCloudServices((nameof(GoogleCloudOptions.StorageEmulatorHost), host));
        var library = services.GetRequiredService<StorageClient>();
        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        // The same library client over a handler that counts requests: round trips per call.
        var counter = new CountingHttpClientFactory();
        var counted = await new StorageClientBuilder
        {
            BaseUri = $"http://{host}/storage/v1/",
            UnauthenticatedAccess = true,
            HttpClientFactory = counter,
        }.BuildAsync();
        // The library as it comes: a resumable upload, a 10 MiB download buffer, its table-driven CRC-32C both ways.
        var libraryDefaults = new DownloadObjectOptions { DownloadValidationMode = DownloadValidationMode.Always };
        var withoutCrc = options.Upload();
        withoutCrc.UploadValidationMode = UploadValidationMode.None;
        var auth = new GoogleAuthHandler(emulator: true)
        {
            InnerHandler = new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None },
        };
        using var handWrittenHttp = new HttpClient(auth) { Timeout = Timeout.InfiniteTimeSpan };
        var handWritten = new HandWrittenClient(handWrittenHttp, Options.Create(new HandWrittenOptions()),
            Options.Create(new GoogleCloudOptions { StorageEmulatorHost = host }));
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
                    Way.InProcess("Google.Cloud.Storage.V1", () => UploadAsync(library, bucket, $"{name}-library", payload, options.Upload())),
                    Way.InProcess("hand-written client", () => handWritten.UploadAsync(bucket, $"{name}-handwritten", payload)),
                    // The first of the resumable upload's two requests (POST uploadType=resumable, answered with the session URI).
                    Way.InProcess("lib: session only", async () =>
                    {
                        using var source = new MemoryStream(payload);
                        await library.CreateObjectUploader(bucket, $"{name}-session", "application/octet-stream", source, options.Upload()).InitiateSessionAsync();
                    }),
                    Way.InProcess("lib, no CRC-32C", () => UploadAsync(library, bucket, $"{name}-unchecked", payload, withoutCrc)),
                    BareHttp.Way(bare, HttpMethod.Post, UploadUrl("bare"), payload, "application/octet-stream"),
                    Curl.Way(new Curl.Request("POST", UploadUrl("curl"), ownerUpload, payloadFile)),
                ];
                var uploaded = await Latency.MeasureAsync(context.N, context.Warmup, upload);
                Latency.PrintRows($"upload, {label}", upload, uploaded, size);
                PrintTarget(uploaded, await counter.RequestsPerCallAsync(() => UploadAsync(counted, bucket, $"{name}-counted", payload, options.Upload())));

                await handWritten.UploadAsync(bucket, name, payload);
                Way[] download =
                [
                    Way.InProcess("Google.Cloud.Storage.V1", () => library.DownloadObjectAsync(bucket, name, Stream.Null, options.Download())),
                    Way.InProcess("hand-written client", () => handWritten.DownloadAsync(bucket, name, Stream.Null)),
                    Way.InProcess("lib, caller hashes", () => library.DownloadObjectAsync(bucket, name, Stream.Null, StorageOptions.DownloadCheckedByCaller())),
                    Way.InProcess("library defaults", () => library.DownloadObjectAsync(bucket, name, Stream.Null, libraryDefaults)),
                    BareHttp.Way(bare, HttpMethod.Get, downloadUrl),
                    Curl.Way(new Curl.Request("GET", downloadUrl, owner)),
                ];
                var downloaded = await Latency.MeasureAsync(context.N, context.Warmup, download);
                Latency.PrintRows($"download, {label}", download, downloaded, size);
                PrintTarget(downloaded, await counter.RequestsPerCallAsync(() => counted.DownloadObjectAsync(bucket, name, Stream.Null, options.Download())));
            }
            finally
            {
                File.Delete(payloadFile);
            }
        }
    }

    private static async Task UploadAsync(StorageClient storage, string bucket, string name, byte[] payload, UploadObjectOptions options)
    {
        using var source = new MemoryStream(payload, writable: false);
        await storage.UploadObjectAsync(bucket, name, "application/octet-stream", source, options);
    }

    /// <summary>Issue 16's target: the library's median per call at most 1.2 times the hand-written client's.</summary>
    private static void PrintTarget(IReadOnlyList<TimeSpan>[] samples, int libraryRequests)
    {
        var ratio = Latency.Percentile(samples[0], 50) / Latency.Percentile(samples[1], 50);
        Console.WriteLine($"  {"",-22} library / hand-written median: {ratio:0.00}x (target <= 1.20x: {(ratio <= 1.2 ? "met" : "NOT met")}); "
            + $"the library makes {libraryRequests} HTTP request(s) per call, the hand-written client 1");
    }

    /// <summary>The library's HTTP stack with a connection-level handler that counts the requests it sends.</summary>
    private sealed class CountingHttpClientFactory : Google.Apis.Http.HttpClientFactory
    {
        private int _requests;

        public async Task<int> RequestsPerCallAsync(Func<Task> call)
        {
            var before = Volatile.Read(ref _requests);
            await call();
            return Volatile.Read(ref _requests) - before;
        }

        protected override HttpClientHandler CreateClientHandler() => new Counting(this);

        private sealed class Counting(CountingHttpClientFactory owner) : HttpClientHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref owner._requests);
                return base.SendAsync(request, cancellationToken);
            }
        }
    }
}
