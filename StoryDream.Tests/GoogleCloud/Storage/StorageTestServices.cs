using Google.Apis.Auth.OAuth2;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud;
using StoryDream.GoogleCloud.Storage;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Storage;

/// <summary>
/// The library's <see cref="StorageClient"/> built by our registration against the shared Storage emulator, with a
/// bucket of its own (the emulator creates buckets on first upload), and a fault injector or credential when asked.
/// </summary>
internal sealed class StorageTestServices : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private StorageTestServices(ServiceProvider services)
    {
        _services = services;
        Client = services.GetRequiredService<StorageClient>();
        Options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
    }

    public StorageClient Client { get; }
    public StorageOptions Options { get; }
    public string Bucket { get; } = "test-" + Guid.NewGuid().ToString("N");

    public static async Task<StorageTestServices> CreateAsync(
        TestServers servers,
        IDictionary<string, string?>? settings = null,
        Func<HttpMessageHandler, HttpMessageHandler>? wrapHandler = null,
        Func<GoogleCredential>? credential = null,
        bool emulatorMode = true)
    {
        var host = await servers.StorageEmulatorHostAsync();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                // Without an emulator host the client goes to its endpoint: point that at the emulator, never Google.
                ["GoogleCloud:Storage:Endpoint"] = $"http://{host}/storage/v1/",
            })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .Configure<GoogleCloudOptions>(options => options.StorageEmulatorHost = emulatorMode ? host : null)
            .AddSingleton(new StorageTransport(wrapHandler, credential ?? NoCredentials))
            .AddStorageClient()
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        return new StorageTestServices(services);
    }

    public static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    public async Task UploadAsync(string name, byte[] content)
    {
        using var source = new MemoryStream(content);
        await Client.UploadObjectAsync(Bucket, name, "application/octet-stream", source, Options.Upload(), TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private static GoogleCredential NoCredentials() =>
        throw new InvalidOperationException("Emulator mode must never load Google credentials.");
}

/// <summary>
/// Keeps what went over the wire, through every handler <see cref="Wrap"/> makes (the library may build more than one
/// HTTP client); requests pass through unchanged.
/// </summary>
internal sealed class RequestLog
{
    private readonly List<(HttpMethod Method, Uri Uri, string? Authorization)> _requests = [];

    public IReadOnlyList<(HttpMethod Method, Uri Uri, string? Authorization)> Requests
    {
        get { lock (_requests) { return [.. _requests]; } }
    }

    public HttpMessageHandler Wrap(HttpMessageHandler inner) => new Recorder(this, inner);

    private sealed class Recorder(RequestLog log, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (log._requests)
            {
                log._requests.Add((request.Method, request.RequestUri!, request.Headers.Authorization?.ToString()));
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
