using StoryDream.Api.Assets;
using StoryDream.Api.Auth;
using StoryDream.Api.Chat;
using StoryDream.Api.Downloads;
using StoryDream.Api.Exports;
using StoryDream.Api.Headless;
using StoryDream.Api.Http;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;
using StoryDream.Api.Sessions;
using StoryDream.Api.Snapshots;
using StoryDream.Api.Webhooks;

namespace StoryDream.Api;

// A named Program (not top-level statements) so tests can tell the services apart in WebApplicationFactory<Program>.
public sealed class Program
{
    private Program()
    {
    }

    public static async Task<int> Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (await ApiCommands.TryRunAsync(args, builder) is { } exitCode) { return exitCode; }

        builder.AddServiceDefaults();
        builder.AddApiServices();
        builder.AddSessionServices();
        builder.AddChatServices();
        builder.AddExportServices();
        builder.AddAssetServices();
        builder.AddWebhookServices();
        builder.AddHeadlessServices();

        var app = builder.Build();
        app.UseApiMiddleware();
        app.MapDefaultEndpoints();
        app.MapApiDocs();
        app.MapProjectsApi();
        app.MapMessagesApi();
        app.MapSnapshotsApi();
        app.MapDownloadsApi();
        app.MapKeysApi();
        app.MapDevSignInApi();
        app.MapSessionsApi();
        app.MapChatApi();
        app.MapExportsApi();
        app.MapThumbnailsApi();
        app.MapAssetsApi();
        app.MapHeadlessApi();
        app.MapWebhooksApi();

        await app.RunAsync();
        return 0;
    }
}
