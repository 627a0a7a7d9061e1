namespace StoryDream.SyncWorker;

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
        builder.AddSyncWorkerServices();

        var app = builder.Build();

        app.MapDefaultEndpoints();

        app.Run();
    }
}
