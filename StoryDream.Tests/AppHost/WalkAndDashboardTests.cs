using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using StoryDream.ServiceDefaults;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary>
/// The running stack end to end: the README's scripted walk through the gateway (eng/walk.mjs), then the dashboard in
/// a real browser (Debian's chromium, driven by Playwright) showing every resource healthy and the walk's session
/// start as one trace across gateway, API and sync worker (the hydrate job carries the trace through Redis).
/// </summary>
public sealed class WalkAndDashboardTests
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly string[] TracedServices = [ResourceNames.Gateway, ResourceNames.Api, ResourceNames.SyncWorker];

    [Fact]
    public async Task RunningStack_ScriptedWalkThroughTheGateway_WorksAndTheDashboardShowsItsTraceAcrossServices()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (eng/setup.sh does).");
        await using var stack = await RunningStack.StartAsync(cancellationToken);

        var (exitCode, output) = await WalkAsync(stack, cancellationToken);
        Assert.True(exitCode == 0, $"eng/walk.mjs exited with {exitCode}:\n{output}");
        foreach (var step in new[] { "create project", "start session", "chat one turn", "the edit is in the snapshot", "fetch the preview", "stop session" })
        {
            Assert.Contains($"walk: {step}", output, StringComparison.Ordinal);
        }

        var traceId = await TraceAcrossServicesAsync(stack, cancellationToken);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        await page.GotoAsync(stack.DashboardUrl);

        foreach (var name in new[] { ResourceNames.Redis, ResourceNames.Firestore, ResourceNames.Storage, ResourceNames.Api, ResourceNames.SyncWorker, ResourceNames.Gateway })
        {
            await Assertions.Expect(page.Locator($"#resources tr[data-resource='{name}'] .state")).ToHaveTextAsync("Running");
        }

        await page.ClickAsync("nav button[data-tab='traces']");
        var trace = page.Locator($"#trace-list tr[data-trace='{traceId}']");
        await Assertions.Expect(trace).ToBeVisibleAsync();
        foreach (var service in TracedServices)
        {
            await Assertions.Expect(trace.Locator(".trace-services")).ToContainTextAsync(service);
        }

        await trace.ClickAsync();
        foreach (var service in TracedServices)
        {
            await Assertions.Expect(page.Locator($"#trace-detail .span-row[data-service='{service}']").First).ToBeVisibleAsync();
        }
        await page.Locator($"#trace-detail .span-row[data-service='{ResourceNames.SyncWorker}']").First.ClickAsync();
        await Assertions.Expect(page.Locator("#span-attributes")).ToContainTextAsync("storydream.project.id");
    }

    private static async Task<(int ExitCode, string Output)> WalkAsync(RunningStack stack, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(RepositoryPaths.Root, "eng", "walk.mjs"));
        info.ArgumentList.Add(stack.GatewayUrl);
        info.Environment["STORYDREAM_DEV_DIRECTORY"] = stack.DevDirectory;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after 5 minutes\n{await stdout}{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>The id of a trace with spans of gateway, API and sync worker; services export in batches, so this polls.</summary>
    private static async Task<string> TraceAcrossServicesAsync(RunningStack stack, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        var seen = "";
        while (DateTime.UtcNow < deadline)
        {
            var traces = await http.GetFromJsonAsync<JsonElement[]>(new Uri($"{stack.DashboardUrl}/api/traces?limit=1000"), cancellationToken);
            foreach (var trace in traces!)
            {
                var services = trace.GetProperty("services").EnumerateArray().Select(s => s.GetString()).ToHashSet();
                if (TracedServices.All(services.Contains))
                {
                    return trace.GetProperty("traceId").GetString()!;
                }
            }
            seen = string.Join("; ", traces.Take(20).Select(t => $"{t.GetProperty("rootName").GetString()} [{string.Join(",", t.GetProperty("services").EnumerateArray())}]"));
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
        throw new Xunit.Sdk.XunitException($"No trace crossed {string.Join(", ", TracedServices)} within 90 s; recent traces: {seen}");
    }
}
