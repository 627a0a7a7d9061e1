using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Firestore;

namespace GoogleCloudBench;

/// <summary>
/// Single-document get and single-write commit against the Firestore emulator: through <see cref="FirestoreClient"/>
/// (as registered by AddGoogleCloud), through a bare HttpClient sending the same bytes (the HTTP stack alone),
/// and through curl.
/// </summary>
internal sealed class FirestoreSection : IBenchmarkSection
{
    private const string ProjectId = "googlecloud-bench";

    public string Name => "firestore";

    public async Task RunAsync(BenchmarkContext context)
    {
        var host = await context.ServerAsync("firestore.sh");
        await using var services = BenchmarkContext.GoogleCloudServices(
            (nameof(GoogleCloudOptions.ProjectId), ProjectId), (nameof(GoogleCloudOptions.FirestoreEmulatorHost), host));
        var client = services.GetRequiredService<FirestoreClient>();
        using var bare = new HttpClient();

        var documents = $"http://{host}/v1/projects/{ProjectId}/databases/(default)/documents";
        var getUrl = $"{documents}/bench/doc";
        var commitUrl = $"{documents}:commit";
        var sample = new BenchProject(
            "A typical project", "Made to measure the client", "0f8fad5b-d9cb-469f-a165-70867728950e",
            new VideoSettings(1920, 1080, 30, 900), ["intro", "outro"],
            new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero), new DateTimeOffset(2025, 1, 2, 3, 4, 6, TimeSpan.Zero));
        await client.SetAsync("bench/doc", sample);
        var commitBody = await RecordCommitBodyAsync(host, sample);
        var bodyFile = Path.Combine(Path.GetTempPath(), $"googlecloud-bench-{Guid.NewGuid():N}.json");
        await File.WriteAllBytesAsync(bodyFile, commitBody);
        var owner = new Dictionary<string, string> { ["Authorization"] = "Bearer owner" };
        var ownerJson = new Dictionary<string, string> { ["Authorization"] = "Bearer owner", ["Content-Type"] = "application/json" };

        try
        {
            Latency.PrintHeader($"Firestore emulator at {host}, a {commitBody.Length}-byte commit body");

            Way[] get =
            [
                Way.InProcess("FirestoreClient", () => client.GetAsync<BenchProject>("bench/doc")),
                BareHttp.Way(bare, HttpMethod.Get, getUrl),
                Curl.Way(new Curl.Request("GET", getUrl, owner)),
            ];
            Latency.PrintRows("get, one document", get, await Latency.MeasureAsync(context.N, context.Warmup, get));

            Way[] commit =
            [
                Way.InProcess("FirestoreClient", () => client.CommitAsync([Write.Set("bench/commit", sample)])),
                BareHttp.Way(bare, HttpMethod.Post, commitUrl, commitBody),
                Curl.Way(new Curl.Request("POST", commitUrl, ownerJson, bodyFile)),
            ];
            Latency.PrintRows("commit, one write", commit, await Latency.MeasureAsync(context.N, context.Warmup, commit));

            Console.WriteLine($"  allocated per get:    FirestoreClient {await AllocatedPerCallAsync(() => client.GetAsync<BenchProject>("bench/doc")),8:N0} B, bare HttpClient {await AllocatedPerCallAsync(() => BareHttp.SendAsync(bare, HttpMethod.Get, getUrl)),8:N0} B");
            Console.WriteLine($"  allocated per commit: FirestoreClient {await AllocatedPerCallAsync(() => client.CommitAsync([Write.Set("bench/commit", sample)])),8:N0} B, bare HttpClient {await AllocatedPerCallAsync(() => BareHttp.SendAsync(bare, HttpMethod.Post, commitUrl, commitBody)),8:N0} B");
        }
        finally
        {
            File.Delete(bodyFile);
        }
    }

    /// <summary>Bytes allocated in this process per call (both ways include HttpClient's own share).</summary>
    private static async Task<long> AllocatedPerCallAsync(Func<Task> call)
    {
        const int Calls = 200;
        var before = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < Calls; i++)
        {
            await call();
        }
        return (GC.GetTotalAllocatedBytes(precise: true) - before) / Calls;
    }

    /// <summary>The exact bytes the client sends for the commit, so the other two ways send the same request.</summary>
    private static async Task<byte[]> RecordCommitBodyAsync(string host, BenchProject sample)
    {
        var recorder = new RecordingHandler { InnerHandler = new SocketsHttpHandler() };
        using var http = new HttpClient(recorder);
        var client = new FirestoreClient(http, Options.Create(new GoogleCloudOptions { ProjectId = ProjectId, FirestoreEmulatorHost = host }));
        await client.CommitAsync([Write.Set("bench/commit", sample)]);
        return recorder.LastBody ?? throw new InvalidOperationException("The commit sent no body.");
    }

    private sealed class RecordingHandler : DelegatingHandler
    {
        public byte[]? LastBody { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is not null)
            {
                LastBody = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            }
            return await base.SendAsync(request, cancellationToken);
        }
    }

    internal sealed record VideoSettings(int Width, int Height, int Fps, int DurationInFrames);

    internal sealed record BenchProject(
        string Name,
        string Description,
        string OwnerId,
        VideoSettings VideoSettings,
        IReadOnlyList<string> Tags,
        DateTimeOffset CreatedAt,
        DateTimeOffset UpdatedAt);
}
