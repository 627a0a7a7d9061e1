using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ModelProxyBench;

/// <summary>
/// The Messages API stand-in both ways are measured against: <c>POST /v1/messages</c> answers one streamed message of
/// a fixed number of tokens, one SSE event and one flush per token as the real API sends them, with its usage; paced at a
/// rate when asked (<c>?paced=1</c>), since a model writes tokens over time.
/// </summary>
internal sealed class StandInMessagesApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly byte[][] _events;

    private StandInMessagesApi(WebApplication app, Uri url, byte[][] events)
    {
        _app = app;
        Url = url;
        _events = events;
    }

    public Uri Url { get; }

    /// <summary>The whole answer, as a client must receive it.</summary>
    public byte[] Body => [.. _events.SelectMany(e => e)];

    public ConcurrentBag<string> KeysSeen { get; } = [];

    public static async Task<StandInMessagesApi> StartAsync(int tokens, int tokensPerSecond)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.AddServerHeader = false;
        });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var events = Events(tokens);
        StandInMessagesApi? api = null;
        app.MapPost("/v1/messages", async context =>
        {
            // Read the request as the real API does before it answers.
            await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            if (api!.KeysSeen.Count < 16) { api.KeysSeen.Add(context.Request.Headers["x-api-key"].ToString()); }
            context.Response.ContentType = "text/event-stream; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers["request-id"] = "req_bench";
            // ?paced=1: tokens at the given rate, the rest as fast as Kestrel takes them.
            var paced = context.Request.Query.ContainsKey("paced");
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < events.Length; i++)
            {
                if (paced && TimeSpan.FromSeconds((double)i / tokensPerSecond) - Stopwatch.GetElapsedTime(started) is { TotalMilliseconds: >= 1 } ahead)
                {
                    await Task.Delay(ahead, context.RequestAborted);
                }
                await context.Response.BodyWriter.WriteAsync(events[i], context.RequestAborted);
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        api = new StandInMessagesApi(app, new Uri(address + "/"), events);
        return api;
    }

    private static byte[][] Events(int tokens)
    {
        var events = new List<string>
        {
            Event("message_start", """{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"claude-standin","content":[],"stop_reason":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"""),
            Event("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
        };
        for (var i = 0; i < tokens; i++)
        {
            events.Add(Event("content_block_delta", $$$"""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" word{{{i % 100}}}"}}"""));
        }
        events.Add(Event("content_block_stop", """{"type":"content_block_stop","index":0}"""));
        events.Add(Event("message_delta", $$$"""{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":{{{tokens}}}}}"""));
        events.Add(Event("message_stop", """{"type":"message_stop"}"""));
        return [.. events.Select(Encoding.UTF8.GetBytes)];
    }

    private static string Event(string name, string data) => $"event: {name}\ndata: {data}\n\n";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
