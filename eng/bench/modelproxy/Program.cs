using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ModelProxyBench;
using StackExchange.Redis;
using StoryDream.Bench;
using StoryDream.Sessions;
using Gateway = StoryDream.SessionGateway.Program;

// Model proxy benchmark, one run, everything on loopback: the same stand-in Messages API answers streamed requests
// (SSE, one write per token) directly and through the gateway's model proxy, alternating request by request. Prints
// time to first byte (median, p95) and tokens per second (first to last byte) for both, and the proxy's figures against
// issue 14's targets. Two streams: as fast as the stand-in can send (the proxy's capacity), and paced at --rate tokens
// per second (ten times a fast model: what the agent sees).
// Usage: dotnet run -c Release --project eng/bench/modelproxy -- [--n 300] [--warmup 50] [--tokens 2000] [--paced-n 20] [--rate 1000]
var n = Option("--n", 300);
var warmup = Option("--warmup", 50);
var tokens = Option("--tokens", 2000);
var pacedN = Option("--paced-n", 20);
var rate = Option("--rate", 1000);

Console.Error.WriteLine("bench: starting Redis, the Messages API stand-in and the gateway with its model proxy");
await using var redis = await ServerProcess.StartAsync("redis.sh");
await using var upstream = await StandInMessagesApi.StartAsync(tokens, rate);
var proxyPort = ServerProcess.FreePort();
const string RealKey = "sk-ant-bench-key";
await using var gateway = InProcessHost.Create<Gateway>(new Dictionary<string, string?>
{
    ["ConnectionStrings:redis"] = redis.Endpoint,
    ["Sessions:PreviewTokenKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
    ["Gateway:PreviewDomain"] = "preview.localhost",
    ["ModelProxy:Port"] = proxyPort.ToString(CultureInfo.InvariantCulture),
    ["ModelProxy:ApiKey"] = RealKey,
    ["ModelProxy:Upstream"] = upstream.Url.ToString(),
    // The bench spends far more than a user's day would; the budget check still runs on every request.
    ["ModelProxy:DailyTokenBudget"] = long.MaxValue.ToString(CultureInfo.InvariantCulture),
    ["Logging:LogLevel:Default"] = "Warning",
});
gateway.UseKestrel(kestrel =>
{
    kestrel.Listen(IPAddress.Loopback, 0);
    kestrel.Listen(IPAddress.Loopback, proxyPort);
});
gateway.StartServer();

// A session as the API records it: only the token's hash is stored.
using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
var sessionId = Guid.NewGuid().ToString("D");
var token = PodCredentials.NewModelToken(sessionId);
var nowhere = new Uri("http://127.0.0.1:9/");
await connection.GetDatabase().HashSetAsync(RedisKeys.Session(sessionId), new SessionRecord(sessionId, Guid.NewGuid().ToString("D"), "bench-user",
    SessionStatus.Ready, "local", nowhere, nowhere, nowhere, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, PodCredentials.NewPodSecret(),
    PodCredentials.HashModelToken(token)).ToHashEntries());

using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AutomaticDecompression = DecompressionMethods.None })
{
    Timeout = TimeSpan.FromSeconds(60),
};
var ways = new (string Name, Uri Url, string Key)[]
{
    ("direct", new Uri(upstream.Url, "v1/messages?beta=true"), RealKey),
    ("model proxy", new Uri($"http://127.0.0.1:{proxyPort}/v1/messages?beta=true"), token),
};
var expected = upstream.Body;

Console.Error.WriteLine($"bench: {warmup} untimed requests each way, then {n} unpaced and {pacedN} paced each, alternating");
var unpaced = await RunAsync(client, ways, expected, paced: false, warmup, n);
var paced = await RunAsync(client, ways, expected, paced: true, 0, pacedN);

var metered = (long)await connection.GetDatabase().HashGetAsync($"usage:session:{sessionId}", "output");
if (metered != (long)(warmup + n + pacedN) * tokens)
{
    throw new InvalidOperationException($"The proxy metered {metered} output tokens, expected {(warmup + n + pacedN) * tokens}.");
}
if (upstream.KeysSeen.Any(k => k != RealKey))
{
    throw new InvalidOperationException("The stand-in received a key other than the real one.");
}

Console.WriteLine();
Console.WriteLine($"Streamed Messages API answers of {tokens:N0} tokens ({expected.Length:N0} bytes, one SSE event per token), alternating direct and proxy; every answer checked byte for byte and the proxy's metered usage checked.");
Console.WriteLine("tokens/s is taken from the first to the last byte of the answer; TTFB from sending the request to the first byte.");
var unpacedFigures = Report($"unpaced, {n} per way", unpaced, tokens);
var pacedFigures = Report($"paced at {rate:N0} tokens/s, {pacedN} per way", paced, tokens);
var addedTtfb = unpacedFigures[1].TtfbMedian - unpacedFigures[0].TtfbMedian;
var pacedRatio = pacedFigures[1].RateMedian / pacedFigures[0].RateMedian;
var unpacedRatio = unpacedFigures[1].RateMedian / unpacedFigures[0].RateMedian;
Console.WriteLine();
Console.WriteLine($"added time to first byte (median, unpaced): {addedTtfb:0.000} ms      target <= 2 ms     {(addedTtfb <= 2 ? "met" : "NOT met")}");
Console.WriteLine($"throughput through the proxy, paced:        {pacedRatio:0.000}x direct   target >= 0.95x    {(pacedRatio >= 0.95 ? "met" : "NOT met")}");
Console.WriteLine($"throughput through the proxy, unpaced:      {unpacedRatio:0.000}x direct   target >= 0.95x    {(unpacedRatio >= 0.95 ? "met" : "NOT met")}");
return addedTtfb <= 2 && pacedRatio >= 0.95 && unpacedRatio >= 0.95 ? 0 : 1;

static async Task<List<Sample>[]> RunAsync(HttpClient client, (string Name, Uri Url, string Key)[] ways, byte[] expected, bool paced, int warmup, int n)
{
    var samples = ways.Select(_ => new List<Sample>()).ToArray();
    for (var i = 0; i < warmup + n; i++)
    {
        // Alternate which way goes first, so neither always follows the other.
        foreach (var w in i % 2 == 0 ? [0, 1] : new[] { 1, 0 })
        {
            var sample = await StreamAsync(client, paced ? new Uri(ways[w].Url + "&paced=1") : ways[w].Url, ways[w].Key, expected);
            if (i >= warmup) { samples[w].Add(sample); }
        }
    }
    return samples;
}

static List<(double TtfbMedian, double RateMedian)> Report(string title, List<Sample>[] samples, int tokens)
{
    Console.WriteLine();
    Console.WriteLine(title);
    Console.WriteLine($"  {"way",-12} {"TTFB median",12} {"TTFB p95",10} {"tokens/s median",16} {"tokens/s p5",12} {"stream median",14}");
    var figures = new List<(double, double)>();
    for (var w = 0; w < samples.Length; w++)
    {
        var ttfb = samples[w].Select(s => s.FirstByte.TotalMilliseconds).Order().ToList();
        var rates = samples[w].Select(s => tokens / (s.Total - s.FirstByte).TotalSeconds).Order().ToList();
        var total = samples[w].Select(s => (s.Total - s.FirstByte).TotalMilliseconds).Order().ToList();
        figures.Add((Percentile(ttfb, 0.5), Percentile(rates, 0.5)));
        Console.WriteLine($"  {(w == 0 ? "direct" : "model proxy"),-12} {Percentile(ttfb, 0.5),9:0.000} ms {Percentile(ttfb, 0.95),7:0.000} ms {Percentile(rates, 0.5),16:N0} {Percentile(rates, 0.05),12:N0} {Percentile(total, 0.5),11:0.00} ms");
    }
    return figures;
}

static async Task<Sample> StreamAsync(HttpClient client, Uri url, string key, byte[] expected)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, url)
    {
        Content = new StringContent("""{"model":"claude-standin","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Write a story."}]}""",
            Encoding.UTF8, "application/json"),
    };
    request.Headers.Add("x-api-key", key);
    request.Headers.Add("anthropic-version", "2023-06-01");
    var started = Stopwatch.GetTimestamp();
    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    if (response.StatusCode != HttpStatusCode.OK) { throw new InvalidOperationException($"{url} answered {(int)response.StatusCode}."); }
    await using var body = await response.Content.ReadAsStreamAsync();
    var received = new byte[expected.Length + 1];
    var length = await body.ReadAsync(received);
    var firstByte = Stopwatch.GetElapsedTime(started);
    int read;
    while (length < received.Length && (read = await body.ReadAsync(received.AsMemory(length))) > 0) { length += read; }
    var total = Stopwatch.GetElapsedTime(started);
    if (!received.AsSpan(0, length).SequenceEqual(expected)) { throw new InvalidOperationException($"{url} answered a different stream ({length} bytes)."); }
    return new Sample(firstByte, total);
}

static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

internal readonly record struct Sample(TimeSpan FirstByte, TimeSpan Total);
