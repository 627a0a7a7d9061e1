using Google.Api.Gax;
using Google.Apis.Auth.OAuth2;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace StoryDream.GoogleCloud.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="StorageClient"/> (Google.Cloud.Storage.V1) for the application, with
    /// <see cref="StorageOptions"/> from <c>GoogleCloud:Storage</c>. With a Storage emulator host configured it talks to the
    /// emulator unauthenticated and never loads credentials; otherwise the library loads Application Default Credentials.
    /// <c>AddGoogleCloud</c> calls this; on its own it expects <see cref="GoogleCloudOptions"/> to be configured.
    /// </summary>
    public static IServiceCollection AddStorageClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<GoogleCloudOptions>()
            .Validate(options => options.StorageEmulatorHost is null || TryGetEmulatorBaseUri(options.StorageEmulatorHost, out _),
                "GoogleCloud:StorageEmulatorHost (or STORAGE_EMULATOR_HOST) must be host:port or an http(s) URL, for example 127.0.0.1:9199.")
            .ValidateOnStart();
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.SectionName)
            .PostConfigure<IOptions<GoogleCloudOptions>>((options, cloud) =>
            {
                if (string.IsNullOrWhiteSpace(cloud.Value.StorageEmulatorHost)) { return; }
                options.UploadChunkSize ??= StorageOptions.EmulatorUploadChunkSize;
                options.ValidateRangedReads ??= false;
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(new StorageTransport());
        services.TryAddSingleton(provider => CreateClient(
            provider.GetRequiredService<IOptions<GoogleCloudOptions>>().Value,
            provider.GetRequiredService<IOptions<StorageOptions>>().Value,
            provider.GetRequiredService<StorageTransport>()));
        return services;
    }

    private static StorageClient CreateClient(GoogleCloudOptions cloud, StorageOptions options, StorageTransport transport)
    {
        var builder = new StorageClientBuilder { HttpClientFactory = new StorageHttpClientFactory(transport.WrapHandler) };
        if (!string.IsNullOrWhiteSpace(cloud.StorageEmulatorHost))
        {
            // What EmulatorDetection does with STORAGE_EMULATOR_HOST, for a host that came from configuration: the
            // builder's detection reads only the process environment, and tests run several configurations in one process.
            TryGetEmulatorBaseUri(cloud.StorageEmulatorHost, out var emulator);
            builder.BaseUri = emulator!.ToString();
            builder.UnauthenticatedAccess = true;
            return builder.Build();
        }
        // A process started with STORAGE_EMULATOR_HOST but no configuration of it still reaches the emulator, without credentials.
        builder.EmulatorDetection = EmulatorDetection.EmulatorOrProduction;
        builder.BaseUri = options.Endpoint?.ToString();
        builder.GoogleCredential = transport.Credential?.Invoke();
        return builder.Build();
    }

    /// <summary>The JSON API root of an emulator given as <c>host:port</c> or an http(s) URL (its path, if any, is ignored).</summary>
    internal static bool TryGetEmulatorBaseUri(string host, out Uri? baseUri)
    {
        var text = host.Trim();
        if (!text.Contains("://", StringComparison.Ordinal)) { text = "http://" + text; }
        baseUri = Uri.TryCreate(text, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https" && parsed.UserInfo.Length == 0
            && parsed.Host.Length > 0
            ? new Uri(parsed.GetLeftPart(UriPartial.Authority) + "/storage/v1/")
            : null;
        return baseUri is not null;
    }
}

/// <summary>
/// What the Storage client's HTTP stack is built with: by default the library's own. Tests put a fault injector between
/// the library and the emulator (<see cref="WrapHandler"/>), or a credential of their own on the production path.
/// </summary>
internal sealed record StorageTransport(Func<HttpMessageHandler, HttpMessageHandler>? WrapHandler = null, Func<GoogleCredential>? Credential = null);

/// <summary>
/// The library's HTTP client factory, with the connection-level handler optionally wrapped. The library builds its own
/// delegating handlers (decompression, the one that hashes downloads as they stream) over the handlers this creates, so
/// a wrapper here sits under them all: what it does to the bytes is what the library's checks see, as with the wire.
/// </summary>
internal sealed class StorageHttpClientFactory(Func<HttpMessageHandler, HttpMessageHandler>? wrap) : Google.Apis.Http.HttpClientFactory
{
    protected override HttpClientHandler CreateClientHandler() => wrap is null ? base.CreateClientHandler() : new WrappedClientHandler(wrap);

    private sealed class WrappedClientHandler : HttpClientHandler
    {
        private readonly HttpMessageInvoker _chain;

        public WrappedClientHandler(Func<HttpMessageHandler, HttpMessageHandler> wrap) =>
            _chain = new HttpMessageInvoker(wrap(new Connection(this)), disposeHandler: false);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            _chain.SendAsync(request, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing) { _chain.Dispose(); }
            base.Dispose(disposing);
        }

        private Task<HttpResponseMessage> SendToNetworkAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            base.SendAsync(request, cancellationToken);

        private sealed class Connection(WrappedClientHandler owner) : HttpMessageHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
                owner.SendToNetworkAsync(request, cancellationToken);
        }
    }
}
