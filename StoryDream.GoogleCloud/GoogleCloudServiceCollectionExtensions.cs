using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud.Firestore;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.GoogleCloud;

public static class GoogleCloudServiceCollectionExtensions
{
    public const string FirestoreEmulatorHostVariable = "FIRESTORE_EMULATOR_HOST";
    public const string StorageEmulatorHostVariable = "STORAGE_EMULATOR_HOST";

    /// <summary>
    /// Binds <see cref="GoogleCloudOptions"/> from the <c>GoogleCloud</c> section (emulator hosts fall back to the
    /// usual <c>FIRESTORE_EMULATOR_HOST</c> and <c>STORAGE_EMULATOR_HOST</c> keys, which hosts fill from the
    /// environment) and registers the Firestore and Cloud Storage clients.
    /// </summary>
    public static IServiceCollection AddGoogleCloud(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<GoogleCloudOptions>()
            .Bind(configuration.GetSection(GoogleCloudOptions.SectionName))
            .PostConfigure(options =>
            {
                // Hosts put environment variables in configuration, so FIRESTORE_EMULATOR_HOST arrives as a plain key.
                options.FirestoreEmulatorHost = FirstSet(options.FirestoreEmulatorHost, configuration[FirestoreEmulatorHostVariable]);
                options.StorageEmulatorHost = FirstSet(options.StorageEmulatorHost, configuration[StorageEmulatorHostVariable]);
            })
            .ValidateDataAnnotations()
            .Validate(options => options.FirestoreEmulatorHost is null || FirestoreClient.TryGetEmulatorBaseUri(options.FirestoreEmulatorHost, out _),
                $"GoogleCloud:FirestoreEmulatorHost (or {FirestoreEmulatorHostVariable}) must be host:port, for example 127.0.0.1:8080.")
            .ValidateOnStart();
        services.TryAddSingleton(new GoogleCredentialSource(GoogleAuthHandler.LoadApplicationDefaultAsync));

        services.AddHttpClient<FirestoreClient>(http =>
            {
                // HTTP/2 where the server offers it (Google over TLS); the emulator's plain HTTP stays on HTTP/1.1.
                http.DefaultRequestVersion = HttpVersion.Version20;
                http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
            })
            .AddGoogleAuth(options => options.FirestoreEmulatorHost);

        services.AddStorageClient();

        return services;
    }

    /// <summary>
    /// Adds <see cref="GoogleAuthHandler"/> in emulator mode when <paramref name="emulatorHost"/> gives a host, so that
    /// mode never loads credentials; otherwise with the process-wide Application Default Credentials.
    /// </summary>
    internal static IHttpClientBuilder AddGoogleAuth(this IHttpClientBuilder builder, Func<GoogleCloudOptions, string?> emulatorHost) =>
        builder.AddHttpMessageHandler(services => new GoogleAuthHandler(
            emulatorHost(services.GetRequiredService<IOptions<GoogleCloudOptions>>().Value) is not null,
            services.GetRequiredService<GoogleCredentialSource>().GetAsync));

    private static string? FirstSet(params string?[] values) => values.FirstOrDefault(value => !string.IsNullOrWhiteSpace(value));
}
