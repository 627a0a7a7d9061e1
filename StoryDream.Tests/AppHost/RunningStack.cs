using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.AppHost.DevAuth;
using StoryDream.ServiceDefaults;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary>
/// The real app host (StoryDream.AppHost's Program) started through Aspire.Hosting.Testing, every resource healthy, on free
/// ports and with a dev folder of its own, so tests can run several side by side. The shared way for whole-stack tests
/// to get the stack: <c>await using var stack = await RunningStack.StartAsync(ct);</c>.
/// </summary>
internal sealed class RunningStack : IAsyncDisposable
{
    private const string DashboardResource = "aspire-dashboard";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private readonly DirectoryInfo _devDirectory;

    private RunningStack(DistributedApplication app, DirectoryInfo devDirectory, int gatewayPort, string? dashboardUrl, string? dashboardLoginUrl, string? dashboardApiKey, string devToken)
    {
        DashboardApiKey = dashboardApiKey;
        App = app;
        _devDirectory = devDirectory;
        GatewayUrl = $"http://localhost:{gatewayPort}";
        DashboardUrl = dashboardUrl;
        DashboardLoginUrl = dashboardLoginUrl;
        DevToken = devToken;
    }

    public DistributedApplication App { get; }

    /// <summary>The gateway, the browser's only address (<c>/api/**</c> and previews).</summary>
    public string GatewayUrl { get; }

    /// <summary>Aspire's dashboard, when started with <c>dashboard: true</c>.</summary>
    public string? DashboardUrl { get; }

    /// <summary>The dashboard URL that logs a browser in with this run's token.</summary>
    public string? DashboardLoginUrl { get; }

    /// <summary>The <c>X-API-Key</c> of the dashboard's telemetry API (<c>/api/telemetry/...</c>), when it asks for one.</summary>
    public string? DashboardApiKey { get; }

    /// <summary>A bearer token for the dev user, signed with this run's dev key (also in <see cref="DevDirectory"/>/dev-token).</summary>
    public string DevToken { get; }

    /// <summary>This run's <c>.dev</c> folder: dev keys, dev token, and the session pods' state under <c>sessions/</c>.</summary>
    public string DevDirectory => _devDirectory.FullName;

    public static async Task<RunningStack> StartAsync(CancellationToken cancellationToken, bool dashboard = false)
    {
        var devDirectory = Directory.CreateTempSubdirectory("storydream-dev-");
        var gatewayPort = LauncherProcess.FreePort();
        List<string> args =
        [
            $"STORYDREAM_GATEWAY_PORT={gatewayPort}",
            $"STORYDREAM_DEV_DIRECTORY={devDirectory.FullName}",
            // The API and sync worker's proxied ports come from their launch settings unless randomized: tests run side by side.
            "DcpPublisher:RandomizePorts=true",
        ];
        string? dashboardUrl = null;
        if (dashboard)
        {
            dashboardUrl = $"http://127.0.0.1:{LauncherProcess.FreePort()}";
            args.Add($"ASPNETCORE_URLS={dashboardUrl}");
            args.Add($"ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL=http://127.0.0.1:{LauncherProcess.FreePort()}");
            args.Add($"ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://127.0.0.1:{LauncherProcess.FreePort()}");
        }

        DistributedApplication? app = null;
        try
        {
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.StoryDream_AppHost>([.. args], (options, _) =>
            {
                options.DisableDashboard = !dashboard;
                options.AllowUnsecuredTransport = true;
            }, cancellationToken);
            foreach (var project in builder.Resources.OfType<ProjectResource>())
            {
                // The exporters' flush on stop waits this long for the collector: 10 s by default, per service.
                builder.CreateResourceBuilder(project).WithEnvironment("OTEL_EXPORTER_OTLP_TIMEOUT", "500");
            }
            // No warm render pod (a chromium starting) beside every stack test on the test machine's two cores: a stack's
            // exports start their own render pods. The warm pods are tested with the API (ExportsApiTests).
            builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == ResourceNames.Api))
                .WithEnvironment("Exports__WarmRenderPods", "0");
            app = await builder.BuildAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StartTimeout);
            await app.StartAsync(timeout.Token);
            await Task.WhenAll(ResourceNames.All.Select(name => app.ResourceNotifications.WaitForResourceHealthyAsync(name, timeout.Token)));
            if (dashboard)
            {
                // Where the dashboard really listens, as its own resource reports it (the testing host picks its ports).
                var healthy = await app.ResourceNotifications.WaitForResourceHealthyAsync(DashboardResource, timeout.Token);
                // Its browser endpoint, named "http" (the others are OTLP's and the MCP server's).
                var url = healthy.Snapshot.Urls.FirstOrDefault(u => u.Name == "http")
                    ?? throw new InvalidOperationException($"The dashboard has no http endpoint: {string.Join(", ", healthy.Snapshot.Urls.Select(u => $"{u.Name} {u.Url}"))}");
                dashboardUrl = new Uri(url.Url).GetLeftPart(UriPartial.Authority);
            }

            var configuration = app.Services.GetRequiredService<IConfiguration>();
            var loginUrl = dashboardUrl is null ? null
                : configuration["AppHost:BrowserToken"] is { Length: > 0 } browserToken ? $"{dashboardUrl}/login?t={browserToken}" : dashboardUrl;
            var credentials = DevCredentials.LoadOrCreate(devDirectory.FullName);
            var token = credentials.MintToken(DateTimeOffset.UtcNow, TimeSpan.FromHours(1));
            credentials.SaveToken(token);
            return new RunningStack(app, devDirectory, gatewayPort, dashboardUrl, loginUrl, configuration["AppHost:DashboardApiKey"], token);
        }
        catch
        {
            if (app is not null) { await app.DisposeAsync(); }
            await TempDirectories.DeleteAsync(devDirectory.FullName);
            throw;
        }
    }

    /// <summary>An HTTP client for a resource's endpoint, as Aspire allocated it.</summary>
    public HttpClient CreateHttpClient(string resource) => App.CreateHttpClient(resource);

    /// <summary>The process id of a running resource, from its Aspire snapshot.</summary>
    public int PidOf(string resource) =>
        StackProcess.PidOf(App, resource) ?? throw new InvalidOperationException($"Resource '{resource}' has no process id: it is not running.");

    /// <summary>
    /// Kills a service resource's process tree with SIGKILL, as a crash would, and waits until Aspire sees it ended.
    /// The tree, because a project may run under a launcher.
    /// </summary>
    public async Task KillAsync(string resource, CancellationToken cancellationToken)
    {
        using var process = System.Diagnostics.Process.GetProcessById(PidOf(resource));
        process.Kill(entireProcessTree: true);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await App.ResourceNotifications.WaitForResourceAsync(resource, KnownResourceStates.TerminalStates, timeout.Token);
    }

    /// <summary>Starts a resource that has ended again, through Aspire's own start command, and waits until it is healthy.</summary>
    public async Task StartAgainAsync(string resource, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        var result = await App.ResourceCommands.ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand, timeout.Token);
        Assert.True(result.Success, $"starting {resource} again failed: {result.Message}");
        await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, timeout.Token);
    }

    /// <summary>A resource's console log so far, for a failing test to keep beside its screenshots.</summary>
    public async Task<string> LogsOfAsync(string resource, CancellationToken cancellationToken)
    {
        var model = App.Services.GetRequiredService<DistributedApplicationModel>();
        var lines = new System.Text.StringBuilder();
        await foreach (var batch in App.Services.GetRequiredService<ResourceLoggerService>()
            .GetAllAsync(model.Resources.Single(r => r.Name == resource)).WithCancellation(cancellationToken))
        {
            foreach (var line in batch) { lines.AppendLine(line.Content); }
        }
        return lines.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await TempDirectories.DeleteAsync(_devDirectory.FullName);
    }
}
