namespace StoryDream.Api.Exports;

internal static class ExportServices
{
    /// <summary>Exports and thumbnails: options, the Firestore records, the Redis queue, render pods and the workers that run them.</summary>
    public static IHostApplicationBuilder AddExportServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ExportOptions>().BindConfiguration(ExportOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IExportStore, FirestoreExportStore>();
        builder.Services.AddSingleton<ExportQueue>();
        builder.Services.AddSingleton<ExportLauncher>();
        builder.Services.AddSingleton<RenderPods>();
        builder.Services.AddHostedService(services => services.GetRequiredService<RenderPods>());
        builder.Services.AddSingleton<RenderPodClient>();
        builder.Services.AddSingleton<ExportWorker>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ExportWorker>());
        builder.Services.AddOptions<ThumbnailOptions>().BindConfiguration(ThumbnailOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ThumbnailRenderer>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ThumbnailRenderer>());
        return builder;
    }
}
