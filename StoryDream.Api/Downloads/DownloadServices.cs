using Google.Apis.Auth.OAuth2;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Options;
using StoryDream.GoogleCloud;

namespace StoryDream.Api.Downloads;

internal static class DownloadServices
{
    /// <summary>
    /// <see cref="IDownloadLinks"/>: signed Cloud Storage URLs in production, the API's own download route against the
    /// Storage emulator (which cannot check signatures). Callers see one interface either way.
    /// </summary>
    public static IServiceCollection AddDownloadLinks(this IServiceCollection services)
    {
        services.AddOptions<DownloadLinkOptions>()
            .BindConfiguration(DownloadLinkOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(provider => DownloadTokens.FromPreviewKey(
            Convert.FromBase64String(provider.GetRequiredService<IOptions<Sessions.SessionOptions>>().Value.PreviewTokenKey),
            provider.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IDownloadLinks>(provider =>
            string.IsNullOrWhiteSpace(provider.GetRequiredService<IOptions<GoogleCloudOptions>>().Value.StorageEmulatorHost)
                // Credentials load when links are first needed, and never against the emulator.
                ? ActivatorUtilities.CreateInstance<SignedDownloadLinks>(provider, UrlSigner.FromCredential(GoogleCredential.GetApplicationDefault()))
                : ActivatorUtilities.CreateInstance<RoutedDownloadLinks>(provider));
        return services;
    }
}
