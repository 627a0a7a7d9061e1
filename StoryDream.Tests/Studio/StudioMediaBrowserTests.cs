using System.Text.RegularExpressions;
using Microsoft.Playwright;
using StoryDream.Tests.AppHost;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Studio;

/// <summary>
/// Uploads, exports and thumbnails in a real browser against the whole stack (issue 17): an image dropped into the
/// assets, used by the scripted agent's composition through staticFile() and shown by the preview; an MP4 export watched
/// to the end, downloaded and showing the photo; the project list showing the project's still.
/// </summary>
public sealed partial class StudioBrowserTests
{
    // One line for the scripted agent (its TEXT understands \n): a 2-second composition showing the uploaded photo.
    private const string PhotoComposition =
        @"create src/compositions/MyVideo.tsx with import { AbsoluteFill, Img, staticFile } from 'remotion';\n\n" +
        @"export const myVideoConfig = { width: 1920, height: 1080, fps: 30, durationInFrames: 60 };\n\n" +
        @"export const MyVideo = () => (\n  <AbsoluteFill>\n    <Img src={staticFile('photo.png')} alt=""Uploaded photo"" />\n  </AbsoluteFill>\n);\n";

    [Fact]
    public async Task Studio_UploadedImageExportAndThumbnail_WorkAsAPerson()
    {
        await OnTheStackAsync(MediaWalkAsync);
    }

    private static async Task MediaWalkAsync(RunningStack stack)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1440, Height = 900 },
            AcceptDownloads = true,
        });
        var page = await NewPageAsync(context);

        await page.GotoAsync(stack.GatewayUrl);
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue as dev user" }).ClickAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Media walk");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/projects/[0-9a-f-]{36}$"));
        await Assertions.Expect(page.Locator("[data-phase='ready']")).ToBeVisibleAsync();

        // Drop a PNG (drawn by the page itself) on the assets' drop zone, as a person drags a file from their desktop.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Assets" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No assets yet.")).ToBeVisibleAsync();
        var dataTransfer = await page.EvaluateHandleAsync("""
            async () => {
              const canvas = document.createElement('canvas');
              canvas.width = 320;
              canvas.height = 180;
              const g = canvas.getContext('2d');
              g.fillStyle = '#e11d48';
              g.fillRect(0, 0, 320, 180);
              const blob = await new Promise(resolve => canvas.toBlob(resolve, 'image/png'));
              const transfer = new DataTransfer();
              transfer.items.add(new File([blob], 'photo.png', { type: 'image/png' }));
              return transfer;
            }
            """);
        await page.GetByTestId("drop-zone").DispatchEventAsync("drop", new { dataTransfer });
        var assets = page.GetByRole(AriaRole.List, new() { Name = "Assets" });
        await Assertions.Expect(assets).ToContainTextAsync("photo.png");
        await Assertions.Expect(assets).ToContainTextAsync("image/png");
        await CheckScreenAsync(page, "assets");

        // A file that is not media is refused with the API's reason, and nothing is added.
        await page.GetByLabel("Files to upload").SetInputFilesAsync(new FilePayload { Name = "notes.png", MimeType = "image/png", Buffer = "not a picture"u8.ToArray() });
        await Assertions.Expect(page.GetByRole(AriaRole.List, new() { Name = "Uploads" }).GetByRole(AriaRole.Alert)).ToContainTextAsync("not an image, audio or video");
        await Assertions.Expect(assets.Locator("li")).ToHaveCountAsync(1);

        // The agent's composition uses the upload; the preview shows the image, loaded.
        await page.GetByLabel("Message to the agent").FillAsync(PhotoComposition);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
        await Assertions.Expect(page.Locator("article.message-assistant").Last).ToHaveAttributeAsync("data-status", "complete");
        await page.GetByRole(AriaRole.Tab, new() { Name = "Preview" }).ClickAsync();
        var photo = page.FrameLocator("iframe[title='Video preview']").Locator("img[alt='Uploaded photo']");
        await Assertions.Expect(photo).ToHaveAttributeAsync("src", new Regex("photo\\.png"));
        await Assertions.Expect(photo).ToHaveJSPropertyAsync("naturalWidth", 320);
        await CheckScreenAsync(page, "preview-uploaded-image");

        // Export: the progress moves, survives a reload, and the finished MP4 downloads.
        await page.GetByRole(AriaRole.Tab, new() { Name = "Export" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No exports yet.")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Export MP4" }).ClickAsync();
        var exports = page.GetByRole(AriaRole.List, new() { Name = "Exports, newest first" }).Locator("li");
        await Assertions.Expect(exports).ToHaveCountAsync(1);
        await Assertions.Expect(exports.First.GetByRole(AriaRole.Status)).ToHaveTextAsync(new Regex("Rendering [1-9][0-9]?%|Saving|Complete"),
            new() { Timeout = 180_000 });
        await CheckScreenAsync(page, "export-progress");
        await page.ReloadAsync();
        await page.GetByRole(AriaRole.Tab, new() { Name = "Export" }).ClickAsync();
        await Assertions.Expect(exports).ToHaveCountAsync(1);
        await Assertions.Expect(exports.First).ToHaveAttributeAsync("data-status", "complete", new() { Timeout = 180_000 });
        await Assertions.Expect(exports.First).ToContainTextAsync("Length 2 s");
        await CheckScreenAsync(page, "export-complete");
        var download = await page.RunAndWaitForDownloadAsync(() => exports.First.GetByRole(AriaRole.Button, new() { Name = "Download MP4" }).ClickAsync());
        var file = Path.Combine(Path.GetTempPath(), $"storydream-{Guid.NewGuid():N}.mp4");
        await download.SaveAsAsync(file);
        try
        {
            using var probe = await Ffmpeg.ProbeAsync(file, ["-show_entries", "stream=codec_name,width,height"], Ct);
            var stream = probe.RootElement.GetProperty("streams")[0];
            Assert.Equal(("h264", 1920, 1080), (stream.GetProperty("codec_name").GetString(), stream.GetProperty("width").GetInt32(), stream.GetProperty("height").GetInt32()));
            // The video shows the uploaded photo (#e11d48, drawn above) where the composition puts it, top left; h264's
            // colour conversion moves each channel a little.
            var (red, green, blue) = await Ffmpeg.PixelAsync(file, TimeSpan.FromSeconds(1), 100, 50, Ct);
            Assert.True(Math.Abs(red - 0xe1) < 24 && Math.Abs(green - 0x1d) < 24 && Math.Abs(blue - 0x48) < 24, $"pixel (100, 50) is #{red:x2}{green:x2}{blue:x2}, not the photo's #e11d48");
        }
        finally
        {
            File.Delete(file);
        }

        // The project list shows the still of the latest turn.
        await page.GetByRole(AriaRole.Link, new() { Name = "← Projects" }).ClickAsync();
        var still = page.GetByRole(AriaRole.Img, new() { Name = "Still of Media walk" });
        await Assertions.Expect(still).ToBeVisibleAsync();
        await Assertions.Expect(still).Not.ToHaveJSPropertyAsync("naturalWidth", 0);
        await CheckScreenAsync(page, "projects-thumbnail");
    }
}
