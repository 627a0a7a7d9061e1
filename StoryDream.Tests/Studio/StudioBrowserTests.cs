using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using StoryDream.AppHost.LocalServers;
using StoryDream.ServiceDefaults;
using StoryDream.Tests.AppHost;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Studio;

/// <summary>
/// The studio in a real browser (Debian's chromium through Playwright) against the whole running stack with the scripted
/// offline agent: the walk issue 13 lists, with axe-core on every main screen and screenshots kept in
/// <c>artifacts/screenshots</c>.
/// </summary>
public sealed partial class StudioBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";
    private const string TemplateTitle = "Your story starts here";
    private static readonly string Screenshots = Path.Combine(RepositoryPaths.Root, "artifacts", "screenshots");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Studio_TheWholeWalkAsAPerson_Works()
    {
        await OnTheStackAsync(WalkAsync);
    }

    /// <summary>Runs a walk on a fresh stack, keeping the services' logs beside the screenshots when it fails.</summary>
    private static async Task OnTheStackAsync(Func<RunningStack, Task> walk)
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (eng/setup.sh does).");
        Directory.CreateDirectory(Screenshots);
        await using var stack = await RunningStack.StartAsync(Ct);
        try
        {
            await walk(stack);
        }
        catch
        {
            // What the services said is what explains a failed step: keep it beside the screenshots.
            foreach (var resource in new[] { ResourceNames.Api, ResourceNames.Gateway, ResourceNames.SyncWorker })
            {
                await File.WriteAllTextAsync(Path.Combine(Screenshots, $"{resource}.log"), await stack.LogsOfAsync(resource, Ct), Ct);
            }
            throw;
        }
    }

    private static async Task WalkAsync(RunningStack stack)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 900 } });
        var page = await NewPageAsync(context);
        var frames = new ChatFrames(page);

        // Sign in as the dev user: no token to paste.
        await page.GotoAsync(stack.GatewayUrl);
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/sign-in$"));
        await CheckScreenAsync(page, "sign-in");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue as dev user" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Your projects" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("No projects yet")).ToBeVisibleAsync();
        await CheckScreenAsync(page, "projects-empty");

        // Create a project and open it.
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Studio walk");
        await page.GetByLabel("Description (optional)").FillAsync("Made by the browser test");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/projects/[0-9a-f-]{36}$"));
        var projectUrl = page.Url;
        await Assertions.Expect(page.Locator("[data-phase='ready']")).ToBeVisibleAsync();
        var preview = page.FrameLocator("iframe[title='Video preview']");
        await Assertions.Expect(preview.Locator("#root")).ToContainTextAsync(TemplateTitle);

        // Chat: the user's message once saved, the streamed reply, the action and a new version; the preview follows.
        await SendAsync(page, "set title to Hello Studio");
        var assistant = page.Locator("article.message-assistant").Last;
        await Assertions.Expect(assistant).ToHaveAttributeAsync("data-status", "complete");
        await Assertions.Expect(assistant.GetByRole(AriaRole.List, new() { Name = "What the agent did" })).ToContainTextAsync("Edited src/compositions/MyVideo.tsx");
        await Assertions.Expect(page.Locator("[data-save='saved']")).ToContainTextAsync("All changes saved at");
        Assert.True(frames.DeltasBeforeComplete > 0, $"no assistant_delta before assistant_complete; frames: {frames}");
        await Assertions.Expect(preview.Locator("#root")).ToContainTextAsync("Hello Studio");
        await CheckScreenAsync(page, "studio");

        // Reload: the whole history is there, once, and the save status says saved.
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("article.message-user")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("article.message-assistant")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("article.message-user")).ToContainTextAsync("set title to Hello Studio");
        await Assertions.Expect(page.Locator("[data-save='saved']")).ToContainTextAsync("All changes saved at");

        // Versions: the diff of the agent's version, then restore the first one: the preview shows the old title.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Versions" }).ClickAsync();
        var versions = page.GetByRole(AriaRole.List, new() { Name = "Versions, newest first" }).Locator("li");
        await Assertions.Expect(versions).ToHaveCountAsync(2);
        await versions.First.GetByRole(AriaRole.Button).ClickAsync();
        await page.Locator("details.file-diff summary", new() { HasText = "src/compositions/MyVideo.tsx" }).ClickAsync();
        var diff = page.GetByLabel("Changes to src/compositions/MyVideo.tsx");
        await Assertions.Expect(diff.Locator(".added")).ToContainTextAsync("Hello Studio");
        await Assertions.Expect(diff.Locator(".removed")).ToContainTextAsync(TemplateTitle);
        await CheckScreenAsync(page, "versions");
        await versions.Last.GetByRole(AriaRole.Button).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Restore this version" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog, new() { Name = "Restore this version?" });
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Restore" }).ClickAsync();
        await Assertions.Expect(dialog).ToBeHiddenAsync();
        await Assertions.Expect(versions).ToHaveCountAsync(3);
        await page.GetByRole(AriaRole.Tab, new() { Name = "Preview" }).ClickAsync();
        await Assertions.Expect(preview.Locator("#root")).ToContainTextAsync(TemplateTitle);

        // Files: the head's tree and a highlighted, read-only viewer.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Files" }).ClickAsync();
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Files" }).GetByRole(AriaRole.Button, new() { Name = "MyVideo.tsx" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("Contents of src/compositions/MyVideo.tsx").Locator("code span").First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByLabel("Contents of src/compositions/MyVideo.tsx")).ToContainTextAsync(TemplateTitle);
        await CheckScreenAsync(page, "files");
        await page.GetByRole(AriaRole.Tab, new() { Name = "Preview" }).ClickAsync();

        // The chat socket killed from the server side mid-turn: the gateway process carrying it is killed (SIGKILL, as a
        // crashed replica; the turn goes on in the API and the pod) and Aspire starts it again on its fixed port. The
        // client reconnects and the turn's messages appear once.
        frames.Reset();
        await SendAsync(page, "[slow 1500ms]\ncreate src/one.txt with one\ncreate src/two.txt with two\ncreate src/three.txt with three");
        await frames.WaitForAsync("agent_action", TimeSpan.FromSeconds(60));
        await stack.KillAsync(ResourceNames.Gateway, Ct);
        await Assertions.Expect(page.GetByText("Connection lost")).ToBeVisibleAsync();
        await stack.StartAgainAsync(ResourceNames.Gateway, Ct);
        await Assertions.Expect(page.GetByText("Connection lost")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("article.message-user")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("article.message-assistant")).ToHaveCountAsync(2);
        var resumed = page.Locator("article.message-assistant").Last;
        await Assertions.Expect(resumed).ToHaveAttributeAsync("data-status", "complete");
        await Assertions.Expect(resumed.GetByRole(AriaRole.List, new() { Name = "What the agent did" }).Locator("li")).ToHaveCountAsync(3);

        await LongHistoryAsync(stack, page);

        // Another user's project is not found, the same as a missing one.
        var othersProject = await CreateProjectAsOtherUserAsync(stack.GatewayUrl);
        await page.GotoAsync($"{stack.GatewayUrl}/projects/{othersProject}");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not found" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("This project does not exist or is not yours.")).ToBeVisibleAsync();
        await CheckScreenAsync(page, "not-found");

        // Delete, after a confirmation that names the project.
        await page.GotoAsync(stack.GatewayUrl);
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete Studio walk" }).ClickAsync();
        var confirm = page.GetByRole(AriaRole.Dialog, new() { Name = "Delete “Studio walk”?" });
        await Assertions.Expect(confirm).ToBeVisibleAsync();
        await CheckScreenAsync(page, "delete-confirm");
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Delete project" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No projects yet")).ToBeVisibleAsync();
        await page.GotoAsync(projectUrl);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not found" })).ToBeVisibleAsync();
    }

    /// <summary>
    /// A project whose history is longer than a page: the studio reads only the newest page to open it, and scrolling up
    /// reads older pages, keeping in view what was there, until the first message; every message is there once.
    /// </summary>
    private static async Task LongHistoryAsync(RunningStack stack, IPage page)
    {
        const int count = 260;
        using var api = new HttpClient { BaseAddress = new Uri(stack.GatewayUrl), Timeout = TimeSpan.FromSeconds(60) };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", stack.DevToken);
        var project = await (await api.PostAsJsonAsync("/api/projects", new { name = "Long history" }, Ct)).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonElement>(Ct);
        var projectId = project.GetProperty("id").GetString()!;
        await SeedHistoryAsync(stack, projectId, count);

        var historyReads = new List<string>();
        void OnRequest(object? sender, IRequest request)
        {
            if (request.Url.Contains($"/api/projects/{projectId}/messages", StringComparison.Ordinal)) { lock (historyReads) { historyReads.Add(request.Url); } }
        }
        page.Request += OnRequest;
        // The project's read answers well after the history's, so the conversation mounts with its first page already in
        // (as it does whenever the project is the slower read): it must open at its newest message all the same.
        var projectUrl = $"{stack.GatewayUrl}/api/projects/{projectId}";
        async Task SlowProject(IRoute route)
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            await route.ContinueAsync();
        }
        await page.RouteAsync(projectUrl, SlowProject);
        try
        {
            await page.GotoAsync($"{stack.GatewayUrl}/projects/{projectId}");
            var log = page.GetByRole(AriaRole.Log, new() { Name = "Conversation" });
            await Assertions.Expect(log.Locator("article.message").Last).ToContainTextAsync(HistoryText(count - 1));
            lock (historyReads) { Assert.Equal("pageSize=50", Assert.Single(historyReads).Split('&').Single(p => p.StartsWith("pageSize=", StringComparison.Ordinal))); }

            // The top of the newest page is message count - 50; once the older page is in above it, it is still in view.
            await log.EvaluateAsync("log => { log.scrollTop = 0; }");
            var formerTop = log.Locator("[data-index='200']");
            await Assertions.Expect(formerTop).ToContainTextAsync(HistoryText(count - 50));
            await Assertions.Expect(formerTop).ToBeInViewportAsync();

            // On up to the first message: each time the top is reached, the next older page comes in.
            await page.WaitForFunctionAsync(
                "text => { const log = document.querySelector('[role=log]'); log.scrollTop = 0; return [...log.querySelectorAll('article.message')].some(a => a.textContent.includes(text)); }",
                HistoryText(0), new() { PollingInterval = 100 });
            await Assertions.Expect(log.Locator("[data-index='0']")).ToContainTextAsync(HistoryText(0));
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Load earlier messages" })).ToBeHiddenAsync();
            lock (historyReads) { Assert.Equal(3, historyReads.Count); }
            await log.EvaluateAsync("log => { log.scrollTop = log.scrollHeight; }");
            await Assertions.Expect(log.Locator($"[data-index='{count - 1}']")).ToContainTextAsync(HistoryText(count - 1));
        }
        finally
        {
            page.Request -= OnRequest;
            await page.UnrouteAsync(projectUrl, SlowProject);
        }
        // Deleting the project stops the session its page started.
        (await api.DeleteAsync($"/api/projects/{projectId}", Ct)).EnsureSuccessStatusCode();
    }

    private static string HistoryText(int i) => $"Long history message {i:D3}.";

    /// <summary>Stored messages written straight into the app host's Firestore emulator: only an agent's turn adds history through the API.</summary>
    private static async Task SeedHistoryAsync(RunningStack stack, string projectId, int count)
    {
        using var firestore = stack.CreateHttpClient(ResourceNames.Firestore);
        firestore.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "owner");
        const string database = $"projects/{LocalServerExtensions.DevProjectId}/databases/(default)";
        var start = DateTime.UtcNow.AddHours(-1);
        var writes = Enumerable.Range(0, count).Select(i => new
        {
            update = new
            {
                name = $"{database}/documents/projects/{projectId}/messages/{Guid.NewGuid()}",
                fields = new Dictionary<string, object>
                {
                    ["role"] = new { stringValue = i % 2 == 0 ? "user" : "assistant" },
                    ["content"] = new { stringValue = HistoryText(i) },
                    ["status"] = new { stringValue = "complete" },
                    ["createdAt"] = new { timestampValue = start.AddSeconds(i).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture) },
                },
            },
        });
        (await firestore.PostAsJsonAsync($"/v1/{database}/documents:commit", new { writes }, Ct)).EnsureSuccessStatusCode();
    }

    private static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Chromium,
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });

    private static async Task<IPage> NewPageAsync(IBrowserContext context)
    {
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(90_000);
        // A session's first preview compiles Remotion on a busy 2-core machine: expectations wait as long as actions do.
        Assertions.SetDefaultExpectTimeout(90_000);
        return page;
    }

    private static async Task SendAsync(IPage page, string text)
    {
        await page.GetByLabel("Message to the agent").FillAsync(text);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
    }

    /// <summary>axe-core finds no serious or critical violation; the screen is kept as a test artifact.</summary>
    private static async Task CheckScreenAsync(IPage page, string name)
    {
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, $"{name}.png") });
        var results = await page.RunAxe();
        var severe = results.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(severe.Count == 0, $"axe-core on {name}: " + string.Join("; ", severe.Select(v =>
            $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Target?.ToString()))}")));
    }

    /// <summary>A project of another user, made through the API with a dev token for that user.</summary>
    private static async Task<string> CreateProjectAsOtherUserAsync(string gateway)
    {
        using var http = new HttpClient { BaseAddress = new Uri(gateway), Timeout = TimeSpan.FromSeconds(60) };
        var token = await (await http.PostAsJsonAsync("/api/auth/dev-token", new { userId = "other-user" }, Ct)).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonElement>(Ct);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.GetProperty("accessToken").GetString());
        var project = await (await http.PostAsJsonAsync("/api/projects", new { name = "Not yours" }, Ct)).EnsureSuccessStatusCode()
            .Content.ReadFromJsonAsync<JsonElement>(Ct);
        return project.GetProperty("id").GetString()!;
    }

    /// <summary>The chat socket's frames as the browser receives them.</summary>
    private sealed class ChatFrames
    {
        private readonly List<string> _types = [];
        private readonly Lock _gate = new();

        public ChatFrames(IPage page)
        {
            page.WebSocket += (_, socket) =>
            {
                if (!socket.Url.Contains("/chat?ticket=", StringComparison.Ordinal)) { return; }
                socket.FrameReceived += (_, frame) =>
                {
                    if (frame.Text is null) { return; }
                    var type = JsonDocument.Parse(frame.Text).RootElement.GetProperty("type").GetString()!;
                    lock (_gate) { _types.Add(type); }
                };
            };
        }

        public int DeltasBeforeComplete
        {
            get
            {
                lock (_gate) { return _types.TakeWhile(t => t != "assistant_complete").Count(t => t == "assistant_delta"); }
            }
        }

        public void Reset()
        {
            lock (_gate) { _types.Clear(); }
        }

        public async Task WaitForAsync(string type, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                lock (_gate) { if (_types.Contains(type)) { return; } }
                if (DateTime.UtcNow > deadline) { throw new TimeoutException($"no {type} frame within {timeout}; frames: {this}"); }
                await Task.Delay(50, Ct);
            }
        }

        public override string ToString()
        {
            lock (_gate) { return string.Join(", ", _types); }
        }
    }
}
