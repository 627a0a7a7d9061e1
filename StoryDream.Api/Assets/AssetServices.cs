namespace StoryDream.Api.Assets;

internal static class AssetServices
{
    public static IHostApplicationBuilder AddAssetServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AssetOptions>().BindConfiguration(AssetOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        return builder;
    }
}
