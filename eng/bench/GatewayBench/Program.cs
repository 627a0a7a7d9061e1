using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;
using StoryDream.Sessions;

namespace GatewayBench;

/// <summary>
/// Small programs for eng/bench/gateway.sh:
///   ports N                                   N free loopback ports, one a line
///   origin PORT                               a pod stand-in: 1 KB for any GET, idle WebSockets held open
///   seed REDIS BASE64KEY SESSION USER URL     writes a ready session to Redis and prints an sd_token for it
///   soak URL COOKIE COUNT SECONDS PID         holds COUNT idle WebSockets through the gateway, then checks each
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        switch (args)
        {
            case ["ports", var count]:
                foreach (var port in FreePorts(int.Parse(count, CultureInfo.InvariantCulture))) { Console.WriteLine(port); }
                return 0;
            case ["origin", var port]:
                await Origin.RunAsync(int.Parse(port, CultureInfo.InvariantCulture));
                return 0;
            case ["seed", var redis, var key, var session, var user, var url]:
                await SeedAsync(redis, key, session, user, new Uri(url));
                return 0;
            case ["soak", var url, var cookie, var count, var seconds, var pid]:
                return await Soak.RunAsync(new Uri(url), cookie, int.Parse(count, CultureInfo.InvariantCulture),
                    TimeSpan.FromSeconds(int.Parse(seconds, CultureInfo.InvariantCulture)), int.Parse(pid, CultureInfo.InvariantCulture));
            default:
                Console.Error.WriteLine("usage: GatewayBench ports N | origin PORT | seed REDIS KEY SESSION USER URL | soak URL COOKIE COUNT SECONDS PID");
                return 2;
        }
    }

    private static List<int> FreePorts(int count)
    {
        // Held together until all are chosen, so the same port is not handed out twice.
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToList();
        listeners.ForEach(l => l.Stop());
        return ports;
    }

    private static async Task SeedAsync(string redis, string key, string sessionId, string userId, Uri previewUrl)
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis);
        var now = DateTimeOffset.UtcNow;
        var record = new SessionRecord(sessionId, Guid.NewGuid().ToString(), userId, SessionStatus.Ready, "local",
            previewUrl, previewUrl, previewUrl, now, now);
        await connection.GetDatabase().HashSetAsync(RedisKeys.Session(sessionId), record.ToHashEntries());
        Console.WriteLine(PreviewTokens.FromBase64Key(key, TimeProvider.System).Issue(sessionId, userId, TimeSpan.FromMinutes(10)));
    }

    /// <summary>Connects to 127.0.0.1 whatever host the URL names, so preview host names need no DNS.</summary>
    internal static SocketsHttpHandler LoopbackHandler(int port) => new()
    {
        UseProxy = false,
        UseCookies = false,
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    };
}
