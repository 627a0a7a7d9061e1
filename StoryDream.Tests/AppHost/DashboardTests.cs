using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using StoryDream.ServiceDefaults;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.AppHost;

/// <summary>
/// The whole stack started through Aspire's testing host with its dashboard, after one scripted walk (eng/walk.mjs):
/// the walk's chat turn is one trace from the gateway through the API to the sync worker (the sync job carries it
/// through Redis), read from the dashboard's telemetry API, and the real dashboard in Debian's chromium shows the six
/// resources healthy and that trace. Screenshots are kept in <c>artifacts/screenshots</c>.
/// </summary>
public sealed class DashboardTests(DashboardTests.WalkedDashboard walked) : IClassFixture<DashboardTests.WalkedDashboard>
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly string Screenshots = Path.Combine(RepositoryPaths.Root, "artifacts", "screenshots");

    [Fact]
    public async Task ChatTurn_ThroughTheGateway_IsOneTraceFromGatewayThroughApiToSyncWorker()
    {
        var trace = await walked.ChatTraceAsync(TestContext.Current.CancellationToken);

        // One tree: a single root, the gateway's server span for the chat request, and every span under it.
        var root = Assert.Single(trace.Spans, s => s.ParentSpanId is null);
        Assert.Equal(ResourceNames.Gateway, root.Service);
        Assert.Equal($"/api/projects/{walked.ProjectId}/chat", root.Path);
        Assert.All(trace.Spans, s => Assert.True(trace.ReachesRoot(s), $"span {s.Name} of {s.Service} is not under the gateway's span"));

        // The API's chat span is the gateway's (through its forwarded call), the sync worker's job span the API's (through Redis).
        var apiChat = Assert.Single(trace.Spans, s => s is { Service: ResourceNames.Api, Kind: SpanKind.Server });
        Assert.Equal(ResourceNames.Gateway, trace.Parent(apiChat)?.Service);
        var sync = trace.Spans.Where(s => s.Service == ResourceNames.SyncWorker && trace.Parent(s)?.Service == ResourceNames.Api).ToList();
        Assert.NotEmpty(sync);
        Assert.All(sync, s => Assert.True(trace.IsUnder(s, apiChat), $"the sync worker's span {s.Name} is not under the API's chat span"));
    }

    [Fact]
    public async Task Dashboard_InChromium_ShowsSixResourcesHealthyAndTheChatTrace()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (eng/setup.sh does).");
        var trace = await walked.ChatTraceAsync(cancellationToken);
        Directory.CreateDirectory(Screenshots);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 900 } });
        page.SetDefaultTimeout(60_000);
        Assertions.SetDefaultExpectTimeout(60_000);

        await page.GotoAsync(walked.Stack.DashboardLoginUrl!);
        foreach (var name in ResourceNames.All)
        {
            var row = page.GetByRole(AriaRole.Row).Filter(new() { Has = page.Locator(".resource-name-text").GetByText(name, new() { Exact = true }) });
            // The state cell reads "Running" only when healthy ("Running (Unhealthy)" otherwise), beside a success icon.
            var state = row.GetByRole(AriaRole.Gridcell, new() { Name = "Running", Exact = true });
            await Assertions.Expect(state).ToBeVisibleAsync();
            await Assertions.Expect(state.Locator("svg.severity-icon")).ToHaveAttributeAsync("style", new Regex("--success"));
        }
        await Assertions.Expect(page.GetByText($"Showing {ResourceNames.All.Count} resources")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "dashboard-resources.png") });

        // Tall enough that the trace's rows are all drawn: the dashboard's grids only draw what is in view.
        await page.SetViewportSizeAsync(1600, 2000);
        await page.GotoAsync($"{walked.Stack.DashboardUrl}/traces/detail/{trace.TraceId}");
        await Assertions.Expect(page.GetByText("Trace detail")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("GET /api/projects/{id}/chat", new() { Exact = true })).ToBeVisibleAsync();
        foreach (var service in new[] { ResourceNames.Gateway, ResourceNames.Api, ResourceNames.SyncWorker })
        {
            // A span row names its resource.
            await Assertions.Expect(page.GetByText(service, new() { Exact = true }).Filter(new() { Visible = true }).First).ToBeVisibleAsync();
        }
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "dashboard-trace.png") });
    }

    /// <summary>The stack with its dashboard, walked once; the tests read what the walk left in the dashboard.</summary>
    public sealed class WalkedDashboard : IAsyncLifetime
    {
        private RunningStack? _stack;

        internal RunningStack Stack => _stack ?? throw new InvalidOperationException("The stack is not started.");

        public string ProjectId { get; private set; } = "";

        public async ValueTask InitializeAsync()
        {
            var cancellationToken = TestContext.Current.CancellationToken;
            _stack = await RunningStack.StartAsync(cancellationToken, dashboard: true);
            var (exitCode, output) = await WalkAndDashboardTests.WalkAsync(_stack, cancellationToken);
            Assert.True(exitCode == 0, $"eng/walk.mjs exited with {exitCode}:\n{output}");
            ProjectId = output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("walk: done: project ", StringComparison.Ordinal))["walk: done: project ".Length..];
        }

        public async ValueTask DisposeAsync()
        {
            if (_stack is not null) { await _stack.DisposeAsync(); }
        }

        /// <summary>
        /// The trace of the walk's chat request, from the dashboard's telemetry API (<c>/api/telemetry/spans</c>, OTLP JSON,
        /// the API the <c>aspire otel</c> command reads), once it holds the sync worker's part: services export in batches.
        /// </summary>
        public async Task<Trace> ChatTraceAsync(CancellationToken cancellationToken)
        {
            using var http = new HttpClient { BaseAddress = new Uri(Stack.DashboardUrl!), Timeout = TimeSpan.FromSeconds(10) };
            http.DefaultRequestHeaders.Add("X-API-Key", Stack.DashboardApiKey);
            var chatPath = $"/api/projects/{ProjectId}/chat";
            var deadline = DateTime.UtcNow.AddSeconds(60);
            var seen = "none";
            while (true)
            {
                using var response = await http.GetAsync(new Uri("/api/telemetry/spans?limit=10000", UriKind.Relative), cancellationToken);
                Assert.True(response.IsSuccessStatusCode, $"The dashboard's telemetry API answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
                var spans = Span.Read(await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken));
                var chat = spans.FirstOrDefault(s => s.Service == ResourceNames.Gateway && s.Kind == SpanKind.Server && s.Path == chatPath);
                if (chat is not null)
                {
                    var trace = new Trace(chat.TraceId, [.. spans.Where(s => s.TraceId == chat.TraceId)]);
                    // Services export in batches, a span once it ends: the API's chat span (the WebSocket's) and the sync
                    // job's may come seconds after their children.
                    var complete = trace.Spans.All(s => s.ParentSpanId is null || trace.Parent(s) is not null);
                    if ((complete && trace.Spans.Any(s => s.Service == ResourceNames.SyncWorker)) || DateTime.UtcNow > deadline) { return trace; }
                    seen = string.Join(", ", trace.Spans.Select(s => s.Service).Distinct());
                }
                Assert.True(DateTime.UtcNow < deadline, $"No span of the gateway for {chatPath} within 60 s; services in its trace: {seen}");
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    public sealed record Trace(string TraceId, IReadOnlyList<Span> Spans)
    {
        public Span? Parent(Span span) => Spans.FirstOrDefault(s => s.SpanId == span.ParentSpanId);

        public bool IsUnder(Span span, Span ancestor)
        {
            for (var up = Parent(span); up is not null; up = Parent(up))
            {
                if (up == ancestor) { return true; }
            }
            return false;
        }

        public bool ReachesRoot(Span span) => span.ParentSpanId is null || IsUnder(span, Spans.Single(s => s.ParentSpanId is null));
    }

    public enum SpanKind { Unspecified, Internal, Server, Client, Producer, Consumer }

    public sealed record Span(string Service, string TraceId, string SpanId, string? ParentSpanId, string Name, SpanKind Kind, string? Path)
    {
        /// <summary>Spans of an OTLP JSON <c>{ data: { resourceSpans: [...] } }</c> reply.</summary>
        public static List<Span> Read(JsonElement reply)
        {
            var spans = new List<Span>();
            foreach (var resourceSpans in reply.GetProperty("data").GetProperty("resourceSpans").EnumerateArray())
            {
                var service = Attribute(resourceSpans.GetProperty("resource"), "service.name") ?? "";
                foreach (var span in resourceSpans.GetProperty("scopeSpans").EnumerateArray().SelectMany(s => s.GetProperty("spans").EnumerateArray()))
                {
                    spans.Add(new Span(
                        service,
                        span.GetProperty("traceId").GetString()!,
                        span.GetProperty("spanId").GetString()!,
                        span.TryGetProperty("parentSpanId", out var parent) && parent.GetString() is { Length: > 0 } p ? p : null,
                        span.GetProperty("name").GetString()!,
                        span.TryGetProperty("kind", out var kind) ? (SpanKind)kind.GetInt32() : SpanKind.Unspecified,
                        Attribute(span, "url.path")));
                }
            }
            return spans;
        }

        private static string? Attribute(JsonElement element, string key) =>
            element.TryGetProperty("attributes", out var attributes)
                ? attributes.EnumerateArray().Where(a => a.GetProperty("key").GetString() == key)
                    .Select(a => a.GetProperty("value").GetProperty("stringValue").GetString()).FirstOrDefault()
                : null;
    }
}
