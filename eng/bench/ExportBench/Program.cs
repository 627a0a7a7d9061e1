using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SessionsBench;
using StackExchange.Redis;
using StoryDream.Bench;
using StoryDream.Sessions;

// Export benchmark, one run: the platform's export of the default composition (1920x1080, 150 frames) from the POST to
// `complete` with the MP4 in Cloud Storage, beside a bare renderMedia of the same template on the same machine; then,
// separately, how long after an agent turn's snapshot its thumbnail is stored.
// Usage: dotnet run -c Release --project eng/bench/ExportBench [-- --runs N]   (default 3 runs; medians printed)
var root = ServerProcess.RepositoryRoot;
if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GCE_METADATA_HOST")))
{
    Environment.SetEnvironmentVariable("GCE_METADATA_HOST", $"127.0.0.1:{ServerProcess.FreePort()}");
}

Console.Error.WriteLine("bench: starting Redis, the Firestore and Storage emulators, the sync worker and the API");
await using var redis = await ServerProcess.StartAsync("redis.sh");
await using var firestore = await ServerProcess.StartAsync("firestore.sh");
await using var storage = await ServerProcess.StartAsync("storage.sh");
await using var platform = Platform.Start(redis.Endpoint, firestore.Endpoint, storage.Endpoint);
// The export's progress as live clients see it: the worker's messages on Redis. Polling the API instead would add
// Firestore reads beside the render that the bare render does not have.
await using var events = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);

var runs = args.Length == 2 && args[0] == "--runs" && int.TryParse(args[1], out var n) && n > 0 ? n
    : args.Length == 0 ? 3 : throw new ArgumentException("Usage: ExportBench [--runs N]");
var loadBefore = LoadAverage();
const double WarmSettleSeconds = 5;
var results = new List<(TimeSpan Bundled, TimeSpan Reused, (TimeSpan Bundle, TimeSpan Select, TimeSpan Render) Bare, TimeSpan Thumbnail)>();
var lines = new List<string>();
static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s";
static string Ratio(TimeSpan a, TimeSpan b) => (a / b).ToString("F2", CultureInfo.InvariantCulture) + "x";
for (var run = 1; run <= runs; run++)
{
    // Alternating, so a machine that slows down or speeds up mid-run weighs on both sides alike.
    Console.Error.WriteLine($"bench: run {run} of {runs}: bare renderMedia of the default template");
    var bare = await BareRenderAsync(root);

    Console.Error.WriteLine($"bench: run {run} of {runs}: the platform's export of the default template, twice: its snapshot's first bundle, then reused");
    // The snapshot's bundle of the run before is forgotten, so the first export bundles.
    var renderCache = Path.Combine(platform.StateDirectory, "render-cache");
    if (Directory.Exists(renderCache)) { Directory.Delete(renderCache, recursive: true); }
    await WarmPodReadyAsync(platform);
    var (exportTime, export, exportPhases) = await ExportAsync(platform, events);
    await WarmPodReadyAsync(platform);
    var (reusedTime, reused, reusedPhases) = await ExportAsync(platform, events);

    Console.Error.WriteLine($"bench: run {run} of {runs}: an agent turn, then its thumbnail");
    var thumbnailProject = await platform.CreateProjectAsync();
    await platform.StartSessionAsync(thumbnailProject);
    await WarmPodReadyAsync(platform);
    var thumbnail = await ThumbnailLatencyAsync(platform, thumbnailProject);
    await platform.StopSessionAsync(thumbnailProject);

    results.Add((exportTime, reusedTime, bare, thumbnail));
    lines.Add($"""
          run {run}: bundled {Seconds(exportTime)} ({Ratio(exportTime, bare.Render)}), reused {Seconds(reusedTime)} ({Ratio(reusedTime, bare.Render)}), bare {Seconds(bare.Render)} (bundle {Seconds(bare.Bundle)}, select {Seconds(bare.Select)}), thumbnail {Seconds(thumbnail)}; {export["size"]} and {reused["size"]} bytes
            where the time went (from the worker's messages), bundled: {exportPhases}
                                                              reused:  {reusedPhases}
        """);
}

static TimeSpan Median(IEnumerable<TimeSpan> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}
var bundled = Median(results.Select(r => r.Bundled));
var reusedMedian = Median(results.Select(r => r.Reused));
var bareRender = Median(results.Select(r => r.Bare.Render));
var bareTotal = Median(results.Select(r => r.Bare.Bundle + r.Bare.Select + r.Bare.Render));
Console.WriteLine($"""

    Export of the default composition (1920x1080, 30 fps, 150 frames, h264), {runs} runs, each: a bare render, then the platform's two exports, then a thumbnail
    (each export and turn once the API's warm render pod is ready and has waited {WarmSettleSeconds} s more)
    {string.Join(Environment.NewLine, lines)}
    Medians of {runs} runs
      platform, snapshot bundled: POST to complete       {Seconds(bundled)}
      platform, snapshot's bundle reused                 {Seconds(reusedMedian)}
      bare renderMedia of the same bundle               {Seconds(bareRender)}  (bundle + select + render: {Seconds(bareTotal)})
      ratio platform / bare renderMedia                 {Ratio(bundled, bareRender)} bundled, {Ratio(reusedMedian, bareRender)} reused  (target <= 1.15x)
      ratio platform / bare bundle+select+render        {Ratio(bundled, bareTotal)} bundled, {Ratio(reusedMedian, bareTotal)} reused
      snapshot_created to thumbnail.png stored          {Seconds(Median(results.Select(r => r.Thumbnail)))}  (target <= 10 s)
    Load average (1, 5, 15 min) before {loadBefore}, after {LoadAverage()}, on {Environment.ProcessorCount} cores
    """);

// The API keeps a warm render pod (Exports:WarmRenderPods, 1 by default) and starts the next one once a render is done.
// Each export and turn waits for it, as one that comes a while after the last render finds it: its renderer has logged
// that it is ready, and then it has waited WarmSettleSeconds more (a browser just opened selects slower: 2.1 s against 0.95 s).
static async Task WarmPodReadyAsync(Platform platform)
{
    var renders = Path.Combine(platform.StateDirectory, "renders");
    var started = Stopwatch.GetTimestamp();
    while (!Ready())
    {
        if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(2)) { throw new TimeoutException("No warm render pod ready within 2 minutes: see the API's log."); }
        await Task.Delay(100);
    }
    await Task.Delay(TimeSpan.FromSeconds(WarmSettleSeconds));

    bool Ready() => Directory.Exists(renders) && Directory.GetDirectories(renders).Any(dir =>
    {
        try
        {
            using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "state.json")));
            // A warm pod has no project yet; a render's pod has one.
            return state.RootElement.GetProperty("ProjectId").GetString() == ""
                && File.ReadAllText(Path.Combine(dir, "pod.log")).Contains("render: renderer ready", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException)
        {
            return false;
        }
    });
}

// Renders share the machine's cores with whatever else runs: the figures mean little without it.
static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "unknown";

// Each export is of a new project made from the template, so both render the template's snapshot. Its time runs from
// the POST to the worker's `complete` message; the phases are the times between its messages: claimed (`rendering`,
// 0 %), the pod started, hydrated and the composition selected (first progress above 0, written at most once per
// `Exports:ProgressInterval`), rendered (`uploading`), and stored (`complete`).
static async Task<(TimeSpan Time, JsonObject Export, string Phases)> ExportAsync(Platform platform, ConnectionMultiplexer redis)
{
    var project = await platform.CreateProjectAsync();
    var messages = System.Threading.Channels.Channel.CreateUnbounded<(TimeSpan At, JsonObject Message)>();
    var started = Stopwatch.GetTimestamp();
    var subscriber = redis.GetSubscriber();
    var channel = RedisChannel.Literal(RedisKeys.ExportEventsChannel);
    await subscriber.SubscribeAsync(channel, (_, message) =>
        messages.Writer.TryWrite((Stopwatch.GetElapsedTime(started), JsonNode.Parse((string)message!)!.AsObject())));
    try
    {
        started = Stopwatch.GetTimestamp();
        var created = await platform.Http.PostAsJsonAsync($"api/projects/{project}/exports", new { codec = "h264" });
        created.EnsureSuccessStatusCode();
        var exportId = (string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        TimeSpan? claimed = null, progressing = null, uploading = null;
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        while (true)
        {
            var (at, message) = await messages.Reader.ReadAsync(deadline.Token);
            if ((string?)message["exportId"] != exportId) { continue; }
            var status = (string?)message["status"];
            if (status == "rendering") { claimed ??= at; }
            if (status == "rendering" && (int?)message["progress"] > 0) { progressing ??= at; }
            if (status == "uploading") { uploading ??= at; }
            if (status is "failed" or "canceled") { throw new InvalidOperationException($"The export ended {status}: {message["error"]}"); }
            if (status != "complete") { continue; }
            var export = (await platform.Http.GetFromJsonAsync<JsonObject>($"api/projects/{project}/exports/{exportId}"))!;
            static string Span(TimeSpan? from, TimeSpan? to) =>
                from is { } f && to is { } t ? (t - f).TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s" : "?";
            var phases = $"claim {Span(TimeSpan.Zero, claimed)}, pod + hydrate + select {Span(claimed, progressing)}, " +
                $"render {Span(progressing, uploading)}, store {Span(uploading, at)}";
            return (at, export, phases);
        }
    }
    finally
    {
        await subscriber.UnsubscribeAsync(channel);
    }
}

static async Task<(TimeSpan Bundle, TimeSpan Select, TimeSpan Render)> BareRenderAsync(string root)
{
    var info = new ProcessStartInfo("node", [Path.Combine(root, "eng", "bench", "ExportBench", "bare-render.mjs")]) { RedirectStandardOutput = true, UseShellExecute = false };
    using var node = Process.Start(info)!;
    var output = await node.StandardOutput.ReadToEndAsync();
    await node.WaitForExitAsync();
    if (node.ExitCode != 0) { throw new InvalidOperationException($"bare-render.mjs exited with {node.ExitCode}"); }
    using var json = JsonDocument.Parse(output);
    TimeSpan Ms(string name) => TimeSpan.FromMilliseconds(json.RootElement.GetProperty(name).GetDouble());
    return (Ms("bundleMs"), Ms("selectMs"), Ms("renderMs"));
}

static async Task<TimeSpan> ThumbnailLatencyAsync(Platform platform, string projectId)
{
    using var socket = new ClientWebSocket();
    // As the studio does: a single-use ticket taken with the token, since the chat socket takes no token in its URL.
    using var issued = await platform.Http.PostAsync($"api/projects/{projectId}/chat/ticket", null);
    issued.EnsureSuccessStatusCode();
    var ticket = (string)(await issued.Content.ReadFromJsonAsync<JsonObject>())!["ticket"]!;
    var url = new UriBuilder(new Uri(platform.BaseAddress, $"api/projects/{projectId}/chat")) { Scheme = "ws", Query = $"ticket={Uri.EscapeDataString(ticket)}" };
    await socket.ConnectAsync(url.Uri, CancellationToken.None);
    var message = JsonSerializer.SerializeToUtf8Bytes(new { type = "user_message", content = "set title to Benchmarked thumbnails" });
    await socket.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);
    var buffer = new byte[1 << 20];
    while (true)
    {
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
        if (result.MessageType == WebSocketMessageType.Close) { throw new InvalidOperationException("The chat closed before the snapshot."); }
        var frame = JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count))!;
        if ((string?)frame["type"] == "snapshot_created") { break; }
        if ((string?)frame["type"] == "error") { throw new InvalidOperationException(frame.ToJsonString()); }
    }
    var started = Stopwatch.GetTimestamp();
    while (true)
    {
        using var response = await platform.Http.GetAsync($"api/projects/{projectId}/thumbnail");
        if (response.StatusCode == HttpStatusCode.OK) { return Stopwatch.GetElapsedTime(started); }
        if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(5)) { throw new TimeoutException("No thumbnail within 5 minutes."); }
        await Task.Delay(100);
    }
}
