using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StoryDream.Tests.SessionGateway;

/// <summary>
/// A stand-in for the Anthropic Messages API on a loopback Kestrel port: <c>POST /v1/messages</c> answers a streamed
/// message (SSE) with known usage, records every request it got, and can hold its answer back (<see cref="HoldHeaders"/>)
/// or pause mid-stream until released (<see cref="MidStream"/>), so tests see what passes through and when. With
/// <see cref="BashCommand"/> it plays the model of an agent turn: a request offering tools is answered with a Bash tool use
/// running that command, and the request carrying its result with the text.
/// </summary>
internal sealed class StandInAnthropicApi : IAsyncDisposable
{
    public const int InputTokens = 12;
    public const int OutputTokens = 34;
    private static readonly string[] Words = ["Hello", " from", " the", " stand-in."];
    private readonly WebApplication _app;

    private StandInAnthropicApi(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public TimeSpan HoldHeaders { get; set; }

    /// <summary>When set, the stream stops after <c>message_start</c> until this completes.</summary>
    public TaskCompletionSource? MidStream { get; set; }

    /// <summary>When set, the command a request offering tools is asked to run (until the request carries a tool result).</summary>
    public string? BashCommand { get; set; }

    /// <summary>Runs once a request is recorded and before it is answered, while its sender waits.</summary>
    public Func<Task>? OnRequest { get; set; }

    public static async Task<StandInAnthropicApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        StandInAnthropicApi? api = null;
        app.MapPost("/v1/messages", async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            api!.Requests.Enqueue(new RecordedRequest(
                context.Request.QueryString.Value ?? "",
                context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal),
                body));
            if (api.OnRequest is { } onRequest) { await onRequest(); }
            await Task.Delay(api.HoldHeaders, context.RequestAborted);
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers["request-id"] = "req_standin";
            await SendAsync(context, "message_start", $$$$"""{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-standin","content":[],"usage":{"input_tokens":{{{{InputTokens}}}},"cache_creation_input_tokens":5,"cache_read_input_tokens":7,"output_tokens":1}}}""");
            if (api.MidStream is { } gate) { await gate.Task.WaitAsync(context.RequestAborted); }
            if (api.BashCommand is { } command && WantsTool(body))
            {
                var input = JsonSerializer.Serialize(JsonSerializer.Serialize(new { command, description = "Run the requested command" }));
                await SendAsync(context, "content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_standin","name":"Bash","input":{}}}""");
                await SendAsync(context, "content_block_delta", $$$"""{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":{{{input}}}}}""");
                await SendAsync(context, "content_block_stop", """{"type":"content_block_stop","index":0}""");
                await SendAsync(context, "message_delta", $$$"""{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":{{{OutputTokens}}}}}""");
                await SendAsync(context, "message_stop", """{"type":"message_stop"}""");
                return;
            }
            await SendAsync(context, "content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""");
            foreach (var word in Words)
            {
                await SendAsync(context, "content_block_delta", $$$"""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"{{{word}}}"}}""");
            }
            await SendAsync(context, "content_block_stop", """{"type":"content_block_stop","index":0}""");
            await SendAsync(context, "message_delta", $$$"""{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":{{{OutputTokens}}}}}""");
            await SendAsync(context, "message_stop", """{"type":"message_stop"}""");
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        api = new StandInAnthropicApi(app, new Uri(address + "/"));
        return api;
    }

    /// <summary>A request that offers tools and whose last message is not a tool's result: the turn's first model call.</summary>
    private static bool WantsTool(string body)
    {
        using var request = JsonDocument.Parse(body);
        var root = request.RootElement;
        if (!root.TryGetProperty("tools", out var tools) || tools.GetArrayLength() == 0) { return false; }
        var last = root.GetProperty("messages").EnumerateArray().Last();
        return !(last.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array
            && content.EnumerateArray().Any(b => b.TryGetProperty("type", out var type) && type.GetString() == "tool_result"));
    }

    private static async Task SendAsync(HttpContext context, string name, string data)
    {
        await context.Response.WriteAsync($"event: {name}\ndata: {data}\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}

internal sealed record RecordedRequest(string Query, IReadOnlyDictionary<string, string> Headers, string Body);
