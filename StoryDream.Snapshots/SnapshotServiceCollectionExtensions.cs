using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Google.Cloud.Storage.V1;
using StoryDream.GoogleCloud.Storage;

namespace StoryDream.Snapshots;

public static class SnapshotServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ISnapshotStore"/> and <see cref="BlobSweeper"/> with options from <c>Snapshots</c>. The
    /// Firestore client comes from <c>AddGoogleCloud</c>; the storage client is added here unless it already is.
    /// </summary>
    public static IServiceCollection AddSnapshotStore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<SnapshotStoreOptions>()
            .BindConfiguration(SnapshotStoreOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        if (!services.Any(d => d.ServiceType == typeof(StorageClient)))
        {
            services.AddStorageClient();
        }
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SnapshotStore>();
        services.TryAddSingleton<ISnapshotStore>(provider => provider.GetRequiredService<SnapshotStore>());
        services.TryAddSingleton<BlobSweeper>();
        return services;
    }
}
