using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
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

    [Fact(Skip = "Written against the pre-Aspire stack fixture (its dashboard gave the gateway's pid to kill); it must move onto the Aspire RunningStack before it runs: see the studio branch's report.")]
    public async Task Studio_TheWholeWalkAsAPerson_Works()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: install Debian's chromium package (eng/setup.sh does).");
        Directory.CreateDirectory(Screenshots);
        await using var stack = await RunningStack.StartAsync(Ct);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1440, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(90_000);
        // A session's first preview compiles Remotion on a busy 2-core machine: expectations wait as long as actions do.
        Assertions.SetDefaultExpectTimeout(90_000);
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

        // The chat socket killed from the server side mid-turn (the gateway carrying it dies and is restarted): the
        // client reconnects and the turn's messages appear once.
        frames.Reset();
        await SendAsync(page, "[slow 1500ms]\ncreate src/one.txt with one\ncreate src/two.txt with two\ncreate src/three.txt with three");
        await frames.WaitForAsync("agent_action", TimeSpan.FromSeconds(60));
        System.Diagnostics.Process.GetProcessById(stack.PidOf(ResourceNames.Gateway)).Kill();
        await Assertions.Expect(page.GetByText("Connection lost")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("Connection lost")).ToBeHiddenAsync();
        await Assertions.Expect(page.Locator("article.message-user")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("article.message-assistant")).ToHaveCountAsync(2);
        var resumed = page.Locator("article.message-assistant").Last;
        await Assertions.Expect(resumed).ToHaveAttributeAsync("data-status", "complete");
        await Assertions.Expect(resumed.GetByRole(AriaRole.List, new() { Name = "What the agent did" }).Locator("li")).ToHaveCountAsync(3);

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
