using Google.Apis.Auth.OAuth2;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Storage;

/// <summary>
/// A <see cref="StorageClient"/> built by the real registration against the shared Storage emulator, with a bucket
/// of its own (the emulator creates buckets on first use), so tests never see each other's objects.
/// </summary>
internal sealed class StorageTestClient : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private StorageTestClient(ServiceProvider services, string bucket)
    {
        _services = services;
        Bucket = bucket;
        Client = services.GetRequiredService<StorageClient>();
    }

    public StorageClient Client { get; }
    public string Bucket { get; }

    public static async Task<StorageTestClient> CreateAsync(
        TestServers servers,
        IDictionary<string, string?>? settings = null,
        Func<HttpMessageHandler, HttpMessageHandler>? wrapTransport = null,
        Func<Task<ITokenAccess>>? credentialFactory = null,
        bool emulatorMode = true)
    {
        var host = await servers.StorageEmulatorHostAsync();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["GoogleCloud:Storage:InitialRetryDelay"] = "00:00:00.010",
                // Without an emulator host the client goes to its endpoint: point that at the emulator, never Google.
                ["GoogleCloud:Storage:Endpoint"] = $"http://{host}/",
            })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .Configure<GoogleCloudOptions>(options => options.StorageEmulatorHost = emulatorMode ? host : null)
            .AddStorageClient(credentialFactory ?? NoCredentials, wrapTransport)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        return new StorageTestClient(services, NewBucket());
    }

    public static string NewBucket() => "test-" + Guid.NewGuid().ToString("N");

    public static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    public async Task<byte[]> DownloadBytesAsync(string name, ByteRange? range = null)
    {
        using var buffer = new MemoryStream();
        await Client.DownloadAsync(Bucket, name, buffer, range, TestContext.Current.CancellationToken);
        return buffer.ToArray();
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private static Task<ITokenAccess> NoCredentials() =>
        throw new InvalidOperationException("Emulator mode must never load Google credentials.");
}

/// <summary>Passes requests through unchanged and keeps what it saw, to check what went over the wire.</summary>
internal sealed class RecordingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private readonly List<(HttpMethod Method, Uri Uri, string? Authorization, string? ContentRange)> _requests = [];

    public IReadOnlyList<(HttpMethod Method, Uri Uri, string? Authorization, string? ContentRange)> Requests
    {
        get { lock (_requests) { return [.. _requests]; } }
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var range = request.Content?.Headers.TryGetValues("Content-Range", out var values) == true ? values.First() : null;
        lock (_requests)
        {
            _requests.Add((request.Method, request.RequestUri!, request.Headers.Authorization?.ToString(), range));
        }
        return base.SendAsync(request, cancellationToken);
    }
}
