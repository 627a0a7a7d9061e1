using System.Net;
using Google.Apis.Auth.OAuth2;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace StoryDream.GoogleCloud.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="StorageClient"/> for the application, with options from <c>GoogleCloud:Storage</c>.
    /// It owns its HTTP pipeline rather than taking one from the HTTP client factory: the service defaults' resilience
    /// handler would cut large transfers at its 10 s attempt limit and resend streamed bodies (the client retries
    /// itself), and a pipeline that lives as long as the application keeps its credential and cached token.
    /// <c>AddGoogleCloud</c> calls this; on its own it expects <see cref="GoogleCloudOptions"/> to be configured.
    /// </summary>
    public static IServiceCollection AddStorageClient(this IServiceCollection services) => services.AddStorageClient(credentialFactory: null);

    internal static IServiceCollection AddStorageClient(this IServiceCollection services, Func<Task<ITokenAccess>>? credentialFactory, Func<HttpMessageHandler, HttpMessageHandler>? wrapTransport = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<GoogleCloudOptions>()
            .Validate(options => StorageUris.TryParseEmulatorHost(options.StorageEmulatorHost, out _),
                "GoogleCloud:StorageEmulatorHost (or STORAGE_EMULATOR_HOST) must be host:port or an http(s) URL, for example 127.0.0.1:9199.")
            .ValidateOnStart();
        services.AddOptions<StorageClientOptions>()
            .BindConfiguration(StorageClientOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(provider =>
        {
            var cloud = provider.GetRequiredService<IOptions<GoogleCloudOptions>>();
            HttpMessageHandler transport = new SocketsHttpHandler
            {
                // 308 means "resume incomplete" to an upload session, and checksums must see the stored bytes.
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            };
            // Registered through AddGoogleCloud, the credential (and its token) is the one the Firestore client uses too.
            var shared = provider.GetService<GoogleCredentialSource>();
            var credentials = credentialFactory ?? (shared is null ? null : new Func<Task<ITokenAccess>>(shared.GetAsync));
            var auth = new GoogleAuthHandler(!string.IsNullOrWhiteSpace(cloud.Value.StorageEmulatorHost), credentials)
            {
                InnerHandler = wrapTransport?.Invoke(transport) ?? transport,
            };
            return new StorageClient(
                new HttpClient(auth) { Timeout = Timeout.InfiniteTimeSpan },
                provider.GetRequiredService<IOptions<StorageClientOptions>>(),
                cloud,
                provider.GetService<ILogger<StorageClient>>(),
                provider.GetService<TimeProvider>());
        });
        return services;
    }
}
