using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GatewayBench;

/// <summary>The pod stand-in: what Vite does for a small module (1 KB of JavaScript), and WebSockets that echo.</summary>
internal static class Origin
{
    private static readonly byte[] Asset = MakeAsset();

    public static async Task RunAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            kestrel.AddServerHeader = false;
        });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        // No keep-alive frames: the soak is about sockets that carry nothing at all.
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Run(async context =>
        {
            if (context.WebSockets.IsWebSocketRequest)
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                await EchoAsync(socket, context.RequestAborted);
                return;
            }
            context.Response.ContentType = "text/javascript";
            context.Response.ContentLength = Asset.Length;
            await context.Response.Body.WriteAsync(Asset, context.RequestAborted);
        });
        await app.StartAsync();
        Console.WriteLine($"READY 127.0.0.1:{port}");
        await app.WaitForShutdownAsync();
    }

    private static async Task EchoAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close) { return; }
                await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, cancellationToken);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The soak counts drops on its own side.
        }
    }

    private static byte[] MakeAsset()
    {
        var line = "export const frame = (t) => Math.round(t * 30);\n"u8.ToArray();
        var asset = new byte[1024];
        for (var i = 0; i < asset.Length; i++) { asset[i] = line[i % line.Length]; }
        return asset;
    }
}
