using StoryDream.SessionGateway.Models;
using StoryDream.SessionGateway.Preview;
using StoryDream.SessionGateway.Studio;

namespace StoryDream.SessionGateway;

// A named Program (not top-level statements) so tests can tell the services apart in WebApplicationFactory<Program>.
public sealed class Program
{
    private Program()
    {
    }

    public static void Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);

        builder.AddServiceDefaults();
        builder.AddGatewayServices();
        builder.AddModelProxy();

        var app = builder.Build();

        app.UseModelProxy();
        app.UsePreviewHosts();
        app.UseStudioFiles();
        app.UseRouting();
        app.UseCors();
        app.UseAuthorization();

        app.MapDefaultEndpoints();
        app.MapPreviewPaths();
        app.MapReverseProxy();
        app.MapStudio();

        app.Run();
    }
}
