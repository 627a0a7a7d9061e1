using System.Net;
using System.Net.Sockets;
using StoryDream.AppHost.Dashboard;
using StoryDream.AppHost.DevAuth;
using StoryDream.AppHost.Orchestration;
using StoryDream.AppHost.Publishing;

namespace StoryDream.AppHost.Hosting;

/// <summary>The built app model: runs it locally (with the dashboard) or publishes it as Kubernetes manifests.</summary>
internal sealed class DistributedApplication(DistributedApplicationBuilder builder)
{
    public const int SetupMissingExitCode = 3;
    public const int UsageExitCode = 2;
    private static readonly TimeSpan DevTokenLifetime = TimeSpan.FromDays(30);

    public IReadOnlyList<Resource> Resources => builder.Resources;

    public async Task<int> RunAsync(CancellationToken cancellationToken = default)
    {
        var options = builder.Options;
        if (options.ShowHelp)
        {
            Console.WriteLine(AppHostOptions.Usage);
            return 0;
        }
        if (options.Publish)
        {
            var files = KubernetesPublisher.Publish(builder.Resources, options.PublishOutput!);
            Console.WriteLine($"Wrote {files.Count} files to {Path.GetFullPath(options.PublishOutput!)}; check with: kubectl kustomize {options.PublishOutput}");
            return 0;
        }

        if (!await Prerequisites.EnsureAsync(options, builder.Resources, Console.Out, cancellationToken)) { return SetupMissingExitCode; }
        foreach (var port in new[] { options.DashboardPort }.Concat(builder.Resources.Select(r => r.Port)))
        {
            if (!PortIsFree(port))
            {
                await Console.Error.WriteLineAsync($"Port {port} is in use on 127.0.0.1. Stop what holds it, or choose another with --gateway-port / --dashboard-port.");
                return SetupMissingExitCode;
            }
        }

        var app = BuildHost(options);
        var orchestrator = app.Services.GetRequiredService<Orchestrator>();
        var dashboardUrl = $"http://127.0.0.1:{options.DashboardPort}";
        Console.WriteLine($"StoryDream app host: starting {builder.Resources.Count} resources. Dashboard: {dashboardUrl}");
        _ = orchestrator.AllHealthy.ContinueWith(t => PrintReady(t.Result, dashboardUrl), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        await app.RunAsync(cancellationToken);
        return 0;
    }

    private WebApplication BuildHost(AppHostOptions options)
    {
        var web = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        web.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, options.DashboardPort));
        web.Logging.ClearProviders();
        web.Logging.AddSimpleConsole(console => { console.SingleLine = true; console.TimestampFormat = "HH:mm:ss "; });
        web.Logging.AddFilter("Microsoft", LogLevel.Warning);
        web.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        // Long enough for every service to stop gracefully and then the servers behind them.
        web.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(60));
        web.Services.AddSingleton(TimeProvider.System);
        web.Services.AddSingleton(new SupervisorTimings());
        web.Services.AddSingleton(sp => new Orchestrator(
            builder.Resources, $"http://127.0.0.1:{options.DashboardPort}", sp.GetRequiredService<SupervisorTimings>(),
            new HttpClient(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Orchestrator>>()));
        web.Services.AddHostedService(sp => sp.GetRequiredService<Orchestrator>());
        web.Services.AddDashboard();

        var app = web.Build();
        app.MapDashboard();
        return app;
    }

    private void PrintReady(TimeSpan elapsed, string dashboardUrl)
    {
        var gateway = builder.Resources.OfType<ProjectResource>().FirstOrDefault(r => r.Name == ServiceDefaults.ResourceNames.Gateway);
        var lines = new List<string>
        {
            $"All {builder.Resources.Count} resources are healthy ({elapsed.TotalSeconds:0.0} s).",
            $"  Dashboard: {dashboardUrl}",
        };
        if (gateway is not null) { lines.Add($"  Gateway:   http://localhost:{gateway.Port}"); }
        if (builder.DevAuth is { } auth && gateway is not null)
        {
            var credentials = auth.Value;
            var token = credentials.MintToken(DateTimeOffset.UtcNow, DevTokenLifetime);
            credentials.SaveToken(token);
            var api = $"http://localhost:{gateway.Port}/api";
            lines.AddRange(
            [
                $"  Dev token for '{DevCredentials.UserId}' (valid {DevTokenLifetime.TotalDays:0} days, also in {Path.Combine(credentials.Directory, DevCredentials.TokenFile)}):",
                $"    export TOKEN='{token}'",
                $"    curl -H \"Authorization: Bearer $TOKEN\" {api}/projects",
                $"    curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{{\"name\":\"My first video\"}}' {api}/projects",
            ]);
        }
        lines.Add("Press Ctrl+C to stop everything.");
        Console.WriteLine(string.Join(Environment.NewLine, lines));
    }

    private static bool PortIsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
