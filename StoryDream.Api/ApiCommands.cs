using StoryDream.Api.Auth;
using StoryDream.GoogleCloud;
using StoryDream.Snapshots;

namespace StoryDream.Api;

/// <summary>
/// One-off commands run with the service's own configuration instead of serving:
/// <c>mint-dev-token --user ID</c> prints a development bearer token; <c>sweep-blobs</c> deletes unreferenced blobs once.
/// </summary>
internal static class ApiCommands
{
    public const string SweepBlobs = "sweep-blobs";

    public static async Task<int?> TryRunAsync(string[] args, WebApplicationBuilder builder)
    {
        switch (args.FirstOrDefault())
        {
            case DevTokenCommand.Name:
                return DevTokenCommand.Run(builder.Configuration, args, Console.Out, Console.Error);
            case SweepBlobs:
                builder.Services.AddGoogleCloud(builder.Configuration);
                builder.Services.AddSnapshotStore();
                using (var host = builder.Build())
                {
                    var report = await host.Services.GetRequiredService<BlobSweeper>().SweepAsync(CancellationToken.None);
                    await Console.Out.WriteLineAsync(report.ToString());
                }
                return 0;
            default:
                return null;
        }
    }
}
