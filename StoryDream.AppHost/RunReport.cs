using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using StoryDream.AppHost.DevAuth;
using StoryDream.ServiceDefaults;

namespace StoryDream.AppHost;

/// <summary>
/// What a person running the stack needs, printed once every resource is healthy: the dashboard's login URL, the
/// gateway's URL, a dev token and how to stop. A resource that fails to start is named as soon as it does.
/// </summary>
internal sealed class RunReport(
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    IConfiguration configuration,
    AppHostSettings settings,
    DevCredentialsSource credentials) : BackgroundService
{
    public const string ReadyLine = "StoryDream is ready";
    public const string StopLine = "Press Ctrl+C (or send SIGTERM) to stop everything";
    private static readonly TimeSpan DevTokenLifetime = TimeSpan.FromDays(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        // Ours, not Aspire's own (the dashboard) or parameters, which have no health.
        var names = model.Resources.Select(r => r.Name).Where(ResourceNames.All.Contains).ToList();
        foreach (var name in names)
        {
            _ = ReportFailureAsync(name, stoppingToken);
        }
        try
        {
            await Task.WhenAll(names.Select(name => notifications.WaitForResourceHealthyAsync(name, stoppingToken)));
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (DistributedApplicationException)
        {
            // A resource that failed is reported by ReportFailureAsync.
            return;
        }
        Console.WriteLine(Report(names.Count, Stopwatch.GetElapsedTime(started)));
    }

    private string Report(int count, TimeSpan elapsed)
    {
        var gateway = $"http://localhost:{settings.GatewayPort}";
        var token = credentials.Value.MintToken(DateTimeOffset.UtcNow, DevTokenLifetime);
        credentials.Value.SaveToken(token);
        return string.Join(Environment.NewLine,
            $"{ReadyLine}: all {count} resources are healthy ({elapsed.TotalSeconds:0.0} s).",
            $"  Dashboard: {DashboardLoginUrl()}",
            $"  Gateway:   {gateway}",
            $"  Dev token for '{DevCredentials.UserId}' (valid {DevTokenLifetime.TotalDays:0} days, also in {Path.Combine(credentials.Value.Directory, DevCredentials.TokenFile)}):",
            $"    export TOKEN='{token}'",
            $"    curl -H \"Authorization: Bearer $TOKEN\" {gateway}/api/projects",
            $"{StopLine}, session pods included.");
    }

    /// <summary>The dashboard's own URL with the browser token it was started with, as Aspire logs it.</summary>
    private string DashboardLoginUrl()
    {
        var url = (configuration["ASPNETCORE_URLS"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "(dashboard disabled)";
        return configuration["AppHost:BrowserToken"] is { Length: > 0 } browserToken ? $"{url.TrimEnd('/')}/login?t={browserToken}" : url;
    }

    private async Task ReportFailureAsync(string name, CancellationToken stoppingToken)
    {
        try
        {
            var failed = await notifications.WaitForResourceAsync(name, e => IsFailed(e.Snapshot), stoppingToken);
            await Console.Error.WriteLineAsync(
                $"Resource '{name}' failed to start ({failed.Snapshot.State?.Text}); the resources that wait for it stay Waiting. Its console log is in the dashboard ({DashboardLoginUrl()}).");
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    // Exited before it was ever healthy: a server that could not start, a service that threw at start-up.
    private static bool IsFailed(CustomResourceSnapshot snapshot) =>
        snapshot.State?.Text == KnownResourceStates.FailedToStart
        || (snapshot.State?.Text == KnownResourceStates.Exited && snapshot.HealthStatus is null or not Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy && snapshot.ExitCode is not null and not 0);
}
