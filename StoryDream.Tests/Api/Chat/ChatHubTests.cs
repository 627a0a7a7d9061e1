using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry.Trace;
using StackExchange.Redis;
using StoryDream.Api.Chat;
using StoryDream.ServiceDefaults;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Chat;

public sealed class ChatHubTests(TestServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 30_000)]
    public async Task Stop_RedisTracingDisposedFirst_StopsAnyway()
    {
        // As in the API: the connection from AddRedisClient, traced. At the host's stop the container may dispose the
        // tracer, and with it the connection's Redis instrumentation, before the hub stops.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [$"ConnectionStrings:{ResourceNames.Redis}"] = await servers.RedisAsync() });
        builder.AddRedisClient(ResourceNames.Redis);
        builder.Services.AddOpenTelemetry().WithTracing(_ => { });
        using var host = builder.Build();
        var tracer = host.Services.GetRequiredService<TracerProvider>();
        using var hub = new ChatHub(host.Services.GetRequiredService<IConnectionMultiplexer>(), NullLogger<ChatHub>.Instance);
        await hub.StartAsync(Ct);
        tracer.Dispose();

        await hub.StopAsync(Ct);
    }
}
