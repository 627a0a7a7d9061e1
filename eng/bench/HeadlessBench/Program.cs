using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SessionsBench;
using StoryDream.Bench;

// Headless benchmark, one run, everything on loopback: the same brief driven headlessly (POST /api/requirements until
// the job.completed webhook arrives) and through the chat WebSocket (user_message until snapshot_created), on a project
// without a session (cold) and with a ready one (warm), alternating; and the webhook's delivery latency (arrival minus
// the job's recorded finish). Usage: dotnet run -c Release --project eng/bench/HeadlessBench -- [--cold N] [--warm N]
var coldRounds = Option("--cold", 5);
var warmRounds = Option("--warm", 15);
const string Brief = "create src/bench.txt with Hello from the benchmark";
if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GCE_METADATA_HOST")))
{
    Environment.SetEnvironmentVariable("GCE_METADATA_HOST", $"127.0.0.1:{ServerProcess.FreePort()}");
}
// The receiver is on loopback, which production refuses; the API reads these as configuration.
Environment.SetEnvironmentVariable("Webhooks__AllowLoopback", "true");
Environment.SetEnvironmentVariable("Webhooks__RequireHttps", "false");
Environment.SetEnvironmentVariable("Headless__ReadBlockTime", "00:00:01");

Console.Error.WriteLine("bench: starting Redis, the Firestore and Storage emulators, the sync worker, the API and a webhook receiver");
await using var redis = await ServerProcess.StartAsync("redis.sh");
await using var firestore = await ServerProcess.StartAsync("firestore.sh");
await using var storage = await ServerProcess.StartAsync("storage.sh");
await using var platform = Platform.Start(redis.Endpoint, firestore.Endpoint, storage.Endpoint);
await using var receiver = await Receiver.StartAsync();

var headlessCold = new List<TimeSpan>();
var chatCold = new List<TimeSpan>();
var headlessWarm = new List<TimeSpan>();
var chatWarm = new List<TimeSpan>();
var delivery = new List<TimeSpan>();

// Warm-up: JIT, template seeding, the first session and turn of each path.
await HeadlessAsync(await platform.CreateProjectAsync());
await ChatAsync(await platform.CreateProjectAsync());

Console.Error.WriteLine($"bench: {coldRounds} cold rounds (no session), headless and chat alternating");
for (var i = 0; i < coldRounds; i++)
{
    var headlessProject = await platform.CreateProjectAsync();
    var (elapsed, latency) = await HeadlessAsync(headlessProject);
    headlessCold.Add(elapsed);
    delivery.Add(latency);
    await WaitForNoSessionAsync(headlessProject);
    var chatProject = await platform.CreateProjectAsync();
    chatCold.Add(await ChatAsync(chatProject));
    await platform.StopSessionAsync(chatProject);
}

Console.Error.WriteLine($"bench: {warmRounds} warm rounds (a ready session), headless and chat alternating on one project");
var warmProject = await platform.CreateProjectAsync();
await platform.StartSessionAsync(warmProject);
for (var i = 0; i < warmRounds; i++)
{
    var (elapsed, latency) = await HeadlessAsync(warmProject);
    headlessWarm.Add(elapsed);
    delivery.Add(latency);
    chatWarm.Add(await ChatAsync(warmProject));
}

Console.WriteLine($"HeadlessBench: {coldRounds} cold and {warmRounds} warm rounds, scripted agent, brief \"{Brief}\"");
Console.WriteLine($"{"",-44}{"median",10}{"p90",10}");
Row("cold: headless, POST to webhook received", headlessCold);
Row("cold: chat WebSocket, send to snapshot_created", chatCold);
Overhead("cold", headlessCold, chatCold, TimeSpan.FromMilliseconds(1500));
Row("warm: headless, POST to webhook received", headlessWarm);
Row("warm: chat WebSocket, send to snapshot_created", chatWarm);
Overhead("warm", headlessWarm, chatWarm, TimeSpan.FromMilliseconds(100));
Row("webhook delivery after the job's finish", delivery);
Console.WriteLine($"{"",-44}{"",10}{"",10}   target <= 100 ms median   {Verdict(Median(delivery) <= TimeSpan.FromMilliseconds(100))}");
return 0;

async Task<(TimeSpan Elapsed, TimeSpan Delivery)> HeadlessAsync(string projectId)
{
    await SettleAsync();
    var started = Stopwatch.GetTimestamp();
    using var response = await platform.Http.PostAsJsonAsync("api/requirements", new { projectId, requirements = Brief, webhookUrl = receiver.Url.ToString() });
    if (response.StatusCode != HttpStatusCode.Accepted) { throw new InvalidOperationException($"POST /api/requirements answered {(int)response.StatusCode}"); }
    var jobId = (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["jobId"]!;
    var arrival = await receiver.WaitForAsync(jobId);
    var elapsed = Stopwatch.GetElapsedTime(started, arrival.Timestamp);
    var job = (await platform.Http.GetFromJsonAsync<JsonObject>($"api/jobs/{jobId}"))!;
    if ((string?)job["status"] != "complete") { throw new InvalidOperationException($"Job {jobId} ended {job["status"]}: {job["error"]}"); }
    var finished = DateTimeOffset.Parse((string)job["finishedAt"]!, CultureInfo.InvariantCulture);
    return (elapsed, arrival.At - finished);
}

async Task<TimeSpan> ChatAsync(string projectId)
{
    // As the studio does: a single-use ticket taken with the token, since the chat socket takes no token in its URL.
    using var issued = await platform.Http.PostAsync($"api/projects/{projectId}/chat/ticket", null);
    issued.EnsureSuccessStatusCode();
    var ticket = (string)(await issued.Content.ReadFromJsonAsync<JsonObject>())!["ticket"]!;
    using var socket = new ClientWebSocket();
    var url = new UriBuilder(new Uri(platform.BaseAddress, $"api/projects/{projectId}/chat")) { Scheme = "ws", Query = $"ticket={Uri.EscapeDataString(ticket)}" };
    await socket.ConnectAsync(url.Uri, CancellationToken.None);
    await NextFrameAsync(socket, "session_status");
    await SettleAsync();
    var started = Stopwatch.GetTimestamp();
    await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(new { type = "user_message", content = Brief }), WebSocketMessageType.Text, true, CancellationToken.None);
    await NextFrameAsync(socket, "snapshot_created");
    var elapsed = Stopwatch.GetElapsedTime(started);
    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    return elapsed;
}

// The previous round's work after its end (the conversation summary's refresh, the delivery's log entry, the job's
// acknowledgement) is over before the clock starts, whichever path ran before: neither path pays for the other's.
static Task SettleAsync() => Task.Delay(TimeSpan.FromMilliseconds(500));

static async Task NextFrameAsync(ClientWebSocket socket, string type)
{
    var buffer = new byte[256 * 1024];
    using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
    while (true)
    {
        var count = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer.AsMemory(count), timeout.Token);
            count += result.Count;
        }
        while (!result.EndOfMessage);
        var frame = JsonNode.Parse(buffer.AsSpan(0, count))!;
        if ((string?)frame["type"] == "error" && (string?)frame["code"] != "busy") { throw new InvalidOperationException($"Chat error: {frame.ToJsonString()}"); }
        if ((string?)frame["type"] == type) { return; }
    }
}

async Task WaitForNoSessionAsync(string projectId)
{
    while ((await platform.Http.GetAsync($"api/projects/{projectId}/session")).StatusCode != HttpStatusCode.NotFound) { await Task.Delay(50); }
}

// The target is judged on the difference of the medians. Each headless round is followed by its chat round, so the median
// of the rounds' own differences is printed too: it is steadier when other work on the machine comes and goes.
static void Overhead(string kind, List<TimeSpan> headless, List<TimeSpan> chat, TimeSpan target)
{
    var overhead = Median(headless) - Median(chat);
    Console.WriteLine($"{kind + ": headless overhead (median difference)",-44}{Ms(overhead),10}   target <= {Ms(target)}   {Verdict(overhead <= target)}");
    Console.WriteLine($"{kind + ": headless overhead (median of rounds')",-44}{Ms(Median([.. headless.Zip(chat, (h, c) => h - c)])),10}");
}

static string Verdict(bool met) => met ? "met" : "NOT met";

static void Row(string name, List<TimeSpan> samples) =>
    Console.WriteLine($"{name,-44}{Ms(Median(samples)),10}{Ms(Percentile(samples, 0.9)),10}");

static TimeSpan Median(List<TimeSpan> samples) => Percentile(samples, 0.5);

static TimeSpan Percentile(List<TimeSpan> samples, double p)
{
    var sorted = samples.Order().ToList();
    return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
}

static string Ms(TimeSpan span) => $"{span.TotalMilliseconds:0} ms";

static int Option(string name, int fallback)
{
    var args = Environment.GetCommandLineArgs();
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>The webhook receiver: Kestrel on loopback, noting when each job's delivery arrived.</summary>
internal sealed class Receiver(WebApplication app, Uri url) : IAsyncDisposable
{
    private readonly Channel<(string JobId, long Timestamp, DateTimeOffset At)> _arrivals = Channel.CreateUnbounded<(string, long, DateTimeOffset)>();

    public Uri Url { get; } = url;

    public static async Task<Receiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        Receiver? receiver = null;
        app.MapPost("/hooks", async (HttpContext context) =>
        {
            var timestamp = Stopwatch.GetTimestamp();
            var at = DateTimeOffset.UtcNow;
            var body = await JsonNode.ParseAsync(context.Request.Body);
            receiver!._arrivals.Writer.TryWrite(((string)body!["data"]!["jobId"]!, timestamp, at));
            return Results.Ok();
        });
        await app.StartAsync();
        receiver = new Receiver(app, new Uri(app.Urls.First() + "/hooks"));
        return receiver;
    }

    public async Task<(long Timestamp, DateTimeOffset At)> WaitForAsync(string jobId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (true)
        {
            var arrival = await _arrivals.Reader.ReadAsync(timeout.Token);
            if (arrival.JobId == jobId) { return (arrival.Timestamp, arrival.At); }
        }
    }

    public ValueTask DisposeAsync() => app.DisposeAsync();
}
