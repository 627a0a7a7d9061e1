using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SessionsBench;
using StoryDream.Bench;
using StackExchange.Redis;
using StoryDream.Sessions;

// Sessions benchmark, one run, everything on loopback: session reuse (median, beside GET of the project), cold start
// to ready (median over COLD starts, beside the bare pod process reaching its READY line) and chat relay from the
// pod's delta to the client's frame (median and p99, beside one direct WebSocket hop).
// Usage: dotnet run -c Release --project eng/bench/SessionsBench -- [--cold N] [--reuse N] [--deltas N]
var cold = Option("--cold", 10);
var reuseCalls = Option("--reuse", 200);
var deltas = Option("--deltas", 400);
var root = ServerProcess.RepositoryRoot;
if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GCE_METADATA_HOST")))
{
    // Nothing here may reach the GCE metadata server: any probe goes to a closed loopback port.
    Environment.SetEnvironmentVariable("GCE_METADATA_HOST", $"127.0.0.1:{ServerProcess.FreePort()}");
}

Console.Error.WriteLine("bench: starting Redis, the Firestore and Storage emulators, the sync worker and the API");
await using var redis = await ServerProcess.StartAsync("redis.sh");
await using var firestore = await ServerProcess.StartAsync("firestore.sh");
await using var storage = await ServerProcess.StartAsync("storage.sh");
await using var platform = Platform.Start(redis.Endpoint, firestore.Endpoint, storage.Endpoint);
using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);

// --- cold start ------------------------------------------------------------------------------------
Console.Error.WriteLine($"bench: {cold} cold starts, alternating with bare pod starts");
var coldStarts = new List<TimeSpan>();
var podStarts = new List<TimeSpan>();
await platform.StartSessionAsync(await platform.CreateProjectAsync()); // warm-up: JIT, template seeding, the first hydrate
for (var i = 0; i < cold; i++)
{
    podStarts.Add(await BarePodStartAsync(root));
    var project = await platform.CreateProjectAsync();
    var started = Stopwatch.GetTimestamp();
    await platform.StartSessionAsync(project);
    coldStarts.Add(Stopwatch.GetElapsedTime(started));
    await platform.StopSessionAsync(project);
}

// --- reuse -----------------------------------------------------------------------------------------
Console.Error.WriteLine($"bench: {reuseCalls} session reuses, alternating with GET of the project");
var reused = await platform.CreateProjectAsync();
await platform.StartSessionAsync(reused);
var reuse = new List<TimeSpan>();
var getProject = new List<TimeSpan>();
for (var i = 0; i < 20; i++)
{
    await platform.StartSessionAsync(reused);
    (await platform.Http.GetAsync($"api/projects/{reused}")).Dispose();
}
for (var round = 0; round < 10; round++)
{
    for (var i = 0; i < reuseCalls / 10; i++)
    {
        var started = Stopwatch.GetTimestamp();
        await platform.StartSessionAsync(reused);
        reuse.Add(Stopwatch.GetElapsedTime(started));
    }
    for (var i = 0; i < reuseCalls / 10; i++)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await platform.Http.GetAsync($"api/projects/{reused}");
        response.EnsureSuccessStatusCode();
        getProject.Add(Stopwatch.GetElapsedTime(started));
    }
}

// --- relay -----------------------------------------------------------------------------------------
Console.Error.WriteLine($"bench: {deltas} deltas through the API, alternating with {deltas} over one direct hop");
var relayProject = await platform.CreateProjectAsync();
var relaySession = await platform.StartSessionAsync(relayProject);
await using var tap = await AgentTap.StartAsync();
var db = connection.GetDatabase();
tap.PodAgentUrl = new Uri((string)(await db.HashGetAsync(RedisKeys.Session(relaySession), "agentUrl"))!);
tap.PodSecret = (string)(await db.HashGetAsync(RedisKeys.Session(relaySession), "podSecret"))!;
// The API reads the agent's address from the session record on every turn: it now dials the tap.
await db.HashSetAsync(RedisKeys.Session(relaySession), "agentUrl", tap.Url.ToString());
var viaApi = new List<TimeSpan>();
var direct = new List<TimeSpan>();
using (var chat = new ClientWebSocket())
{
    using var ticketResponse = await platform.Http.PostAsync(new Uri($"api/projects/{relayProject}/chat/ticket", UriKind.Relative), null);
    var ticket = (await ticketResponse.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ticket").GetString()!;
    await chat.ConnectAsync(new Uri($"ws://{platform.BaseAddress.Authority}/api/projects/{relayProject}/chat?ticket={Uri.EscapeDataString(ticket)}"), CancellationToken.None);
    await ApiTurnAsync(chat, Script("warm", 20), tap, []);
    await DirectTurnAsync(tap, relayProject, Script("warm-direct", 20), []);
    for (var round = 0; round < 4; round++)
    {
        await ApiTurnAsync(chat, Script($"api{round}", deltas / 4), tap, viaApi);
        await DirectTurnAsync(tap, relayProject, Script($"direct{round}", deltas / 4), direct);
    }
}

Console.WriteLine("Sessions: local runtime, scripted agent, template project; Redis, emulators, sync worker and API on loopback (API and sync worker in this process)");
Console.WriteLine($"  {"measure",-34} {"median",10} {"p99",10}   {"baseline",-38} {"median",10} {"p99",10}   target");
Row("session reuse (POST .../session)", reuse, "GET /api/projects/{id}", getProject, "<= 10 ms median");
Row($"cold start to ready (n={coldStarts.Count})", coldStarts, "bare pod process to READY line", podStarts, "<= 2 s median");
Row("relay: pod delta -> client frame", viaApi, "one direct WebSocket hop", direct, "<= 1 ms median");
Console.WriteLine($"  relay overhead over the direct hop: median {Ms(Percentile(viaApi, 50) - Percentile(direct, 50))}");
return 0;

static string Script(string prefix, int count)
{
    // A short pause before each step spaces the deltas out, so each is timed on its own rather than in a queue.
    var script = new StringBuilder("[slow 2ms]\n");
    for (var i = 0; i < count; i++) { script.Append(CultureInfo.InvariantCulture, $"{prefix}-{i}\n"); }
    return script.ToString();
}

static async Task ApiTurnAsync(ClientWebSocket chat, string content, AgentTap tap, List<TimeSpan> samples)
{
    await SendAsync(chat, new JsonObject { ["type"] = "user_message", ["content"] = content });
    while (await ReceiveAsync(chat) is { } frame)
    {
        var arrived = Stopwatch.GetTimestamp();
        switch ((string?)frame["type"])
        {
            case "assistant_delta":
                Sample(tap, (string)frame["text"]!, arrived, samples);
                break;
            case "snapshot_created":
                return;
            case "error":
                throw new InvalidOperationException($"The chat answered an error: {frame.ToJsonString()}");
        }
    }
    throw new InvalidOperationException("The chat socket closed mid-turn.");
}

static async Task DirectTurnAsync(AgentTap tap, string projectId, string content, List<TimeSpan> samples)
{
    using var agent = new ClientWebSocket();
    await agent.ConnectAsync(new UriBuilder(new Uri(tap.Url, "agent")) { Scheme = "ws" }.Uri, CancellationToken.None);
    await SendAsync(agent, new JsonObject { ["type"] = "init", ["projectId"] = projectId });
    await SendAsync(agent, new JsonObject { ["type"] = "user_message", ["id"] = Guid.NewGuid().ToString("D"), ["content"] = content });
    while (await ReceiveAsync(agent) is { } frame)
    {
        var arrived = Stopwatch.GetTimestamp();
        switch ((string?)frame["type"])
        {
            case "assistant_delta":
                Sample(tap, (string)frame["text"]!, arrived, samples);
                break;
            case "turn_complete":
                // The tap drops both sides once either closes; no handshake to wait for.
                await agent.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                return;
            case "error":
                throw new InvalidOperationException($"The agent answered an error: {frame.ToJsonString()}");
        }
    }
}

static void Sample(AgentTap tap, string text, long arrived, List<TimeSpan> samples)
{
    if (text.StartsWith("You said: ", StringComparison.Ordinal) && tap.Stamps.TryRemove(text, out var stamped))
    {
        samples.Add(Stopwatch.GetElapsedTime(stamped, arrived));
    }
}

static Task SendAsync(ClientWebSocket socket, JsonObject frame) =>
    socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(frame), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

static async Task<JsonObject?> ReceiveAsync(ClientWebSocket socket)
{
    var buffer = new ArrayBufferWriter<byte>();
    using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
    while (true)
    {
        var result = await socket.ReceiveAsync(buffer.GetMemory(8192), timeout.Token);
        if (result.MessageType == WebSocketMessageType.Close) { return null; }
        buffer.Advance(result.Count);
        if (result.EndOfMessage) { return JsonNode.Parse(buffer.WrittenSpan)!.AsObject(); }
    }
}

static async Task<TimeSpan> BarePodStartAsync(string root)
{
    var workspace = Path.Combine(Path.GetTempPath(), "sd-bench-pod-" + Guid.NewGuid().ToString("N")[..8]);
    var info = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    info.ArgumentList.Add(Path.Combine(root, "session-pod", "dist", "src", "main.js"));
    info.Environment["WORKSPACE_DIR"] = workspace;
    info.Environment["STORYDREAM_AGENT"] = "scripted";
    info.Environment["FILES_PORT"] = "0";
    info.Environment["AGENT_PORT"] = "0";
    info.Environment["PREVIEW_PORT"] = "0";
    // A pod refuses to start without its identity, as the runtime gives it (PodLaunch).
    info.Environment["STORYDREAM_SESSION_ID"] = Guid.NewGuid().ToString("D");
    info.Environment["STORYDREAM_POD_SECRET"] = PodCredentials.NewPodSecret();
    var started = Stopwatch.GetTimestamp();
    using var process = Process.Start(info)!;
    process.ErrorDataReceived += (_, _) => { };
    process.BeginErrorReadLine();
    while (await process.StandardOutput.ReadLineAsync() is { } line && !line.StartsWith("READY ", StringComparison.Ordinal)) { }
    var elapsed = Stopwatch.GetElapsedTime(started);
    using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])) { await term.WaitForExitAsync(); }
    await process.WaitForExitAsync();
    Directory.Delete(workspace, recursive: true);
    return elapsed;
}

static void Row(string measure, List<TimeSpan> samples, string baseline, List<TimeSpan> baselineSamples, string target) =>
    Console.WriteLine($"  {measure,-34} {Ms(Percentile(samples, 50)),10} {Ms(Percentile(samples, 99)),10}   {baseline,-38} " +
        $"{Ms(Percentile(baselineSamples, 50)),10} {Ms(Percentile(baselineSamples, 99)),10}   {target}");

static TimeSpan Percentile(List<TimeSpan> samples, double percentile)
{
    var sorted = samples.Order().ToArray();
    return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}

static string Ms(TimeSpan value) => $"{value.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture)} ms";

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

