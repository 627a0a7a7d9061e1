using System.Globalization;
using System.Net.WebSockets;
using System.Text;

namespace GatewayBench;

/// <summary>
/// Opens many WebSockets through the gateway, leaves them idle (no data, no pings), samples the gateway's memory, and at
/// the end asks each for an echo: a socket that closed or does not answer is a drop.
/// </summary>
internal static class Soak
{
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(Uri url, string cookie, int count, TimeSpan duration, int gatewayPid)
    {
        using var invoker = new HttpMessageInvoker(Program.LoopbackHandler(url.Port));
        var rssBefore = RssMegabytes(gatewayPid);
        var sockets = new ClientWebSocket[count];
        var reads = new Task<string?>[count];
        using var stop = new CancellationTokenSource();
        var opening = Enumerable.Range(0, count).Select(async i =>
        {
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            socket.Options.SetRequestHeader("Cookie", cookie);
            await socket.ConnectAsync(url, invoker, CancellationToken.None);
            sockets[i] = socket;
            // A read stays pending all along, as a browser's does; it ends early only if the socket is dropped.
            reads[i] = ReadOneAsync(socket, stop.Token);
        });
        using (var throttle = new SemaphoreSlim(50))
        {
            await Task.WhenAll(opening.Select(async open =>
            {
                await throttle.WaitAsync();
                try { await open; } finally { throttle.Release(); }
            }));
        }
        Console.WriteLine($"soak: {count} WebSockets open through the gateway; idle for {duration.TotalSeconds:0} s");

        var maxRss = RssMegabytes(gatewayPid);
        var started = DateTime.UtcNow;
        while (DateTime.UtcNow - started < duration)
        {
            await Task.Delay(SampleEvery);
            maxRss = Math.Max(maxRss, RssMegabytes(gatewayPid));
            var early = reads.Count(r => r.IsCompleted);
            if (early > 0) { Console.WriteLine($"soak: {early} sockets ended early after {(DateTime.UtcNow - started).TotalSeconds:0} s"); }
        }

        var droppedIdle = reads.Count(r => r.IsCompleted);
        var echoes = await Task.WhenAll(sockets.Select(async (socket, i) =>
        {
            if (reads[i].IsCompleted || socket.State != WebSocketState.Open) { return false; }
            try
            {
                var message = Encoding.UTF8.GetBytes($"echo-{i}");
                await socket.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);
                return await reads[i].WaitAsync(TimeSpan.FromSeconds(30)) == $"echo-{i}";
            }
            catch (Exception e) when (e is WebSocketException or TimeoutException)
            {
                return false;
            }
        }));
        var dropped = echoes.Count(ok => !ok);
        var rssEnd = RssMegabytes(gatewayPid);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT websockets={count} seconds={duration.TotalSeconds:0} dropped={dropped} dropped_while_idle={droppedIdle} gateway_rss_mb_before={rssBefore:0.0} gateway_rss_mb_max={maxRss:0.0} gateway_rss_mb_end={rssEnd:0.0}"));

        foreach (var socket in sockets)
        {
            try { await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None); }
            catch (WebSocketException) { }
            socket.Dispose();
        }
        return 0;
    }

    private static async Task<string?> ReadOneAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        try
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            return result.MessageType == WebSocketMessageType.Close ? null : Encoding.UTF8.GetString(buffer, 0, result.Count);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            return null;
        }
    }

    private static double RssMegabytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }
        return double.NaN;
    }
}
