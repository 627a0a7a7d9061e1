using System.Security.Cryptography;
using Microsoft.Playwright;
using StoryDream.ServiceDefaults;

namespace StoryDream.Tests.AppHost;

/// <summary>The dashboard in a real browser (Debian's chromium, driven by Playwright) over the real running stack.</summary>
public sealed class DashboardBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Dashboard_RunningStack_ShowsHealthyResourcesAndATraceAcrossServices()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (eng/setup.sh does).");
        await using var stack = await RunningStack.StartAsync(cancellationToken);

        // One trace entering gateway, API and sync worker: each request carries the same W3C trace context, as a
        // call forwarded from one service to the next does, so each service exports a server span into that trace.
        var traceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var service in new[] { ResourceNames.Gateway, ResourceNames.Api, ResourceNames.SyncWorker })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"{await stack.UrlOfAsync(service, cancellationToken)}/trace-probe"));
            request.Headers.Add("traceparent", $"00-{traceId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}-01");
            using var response = await http.SendAsync(request, cancellationToken);
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(stack.DashboardUrl);

        foreach (var name in new[] { ResourceNames.Redis, ResourceNames.Firestore, ResourceNames.Storage, ResourceNames.Api, ResourceNames.SyncWorker, ResourceNames.Gateway })
        {
            await Assertions.Expect(page.Locator($"#resources tr[data-resource='{name}'] .state")).ToHaveTextAsync("Running");
        }

        await page.ClickAsync("nav button[data-tab='traces']");
        var trace = page.Locator($"#trace-list tr[data-trace='{traceId}']");
        await Assertions.Expect(trace).ToBeVisibleAsync();
        await Assertions.Expect(trace.Locator(".trace-services")).ToContainTextAsync(ResourceNames.Gateway);
        await Assertions.Expect(trace.Locator(".trace-services")).ToContainTextAsync(ResourceNames.Api);
        await Assertions.Expect(trace.Locator(".trace-services")).ToContainTextAsync(ResourceNames.SyncWorker);

        await trace.ClickAsync();
        foreach (var service in new[] { ResourceNames.Gateway, ResourceNames.Api, ResourceNames.SyncWorker })
        {
            await Assertions.Expect(page.Locator($"#trace-detail .span-row[data-service='{service}']")).ToHaveCountAsync(1);
        }
        await page.Locator($"#trace-detail .span-row[data-service='{ResourceNames.Api}']").ClickAsync();
        await Assertions.Expect(page.Locator("#span-attributes")).ToContainTextAsync("/trace-probe");
    }
}
