using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Instrumentation.AspNetCore;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.SessionGateway;

public sealed class GatewayTracingTests(TestServers servers)
{
    [Theory(Timeout = 30_000)]
    [InlineData("abc.preview.localhost:5000", "/src/main.tsx", false)]
    [InlineData("localhost:5000", "/preview/abc/src/main.tsx", false)]
    [InlineData("localhost:5000", "/health", false)]
    [InlineData("localhost:5000", "/api/projects", true)]
    [InlineData("localhost:5000", "/previews", true)]
    public async Task TraceFilter_PreviewAndHealthLeftOut_ApiTraced(string host, string path, bool traced)
    {
        await using var gateway = GatewayServer.Start(await servers.RedisAsync());
        var filter = gateway.Services.GetRequiredService<IOptionsMonitor<AspNetCoreTraceInstrumentationOptions>>().Get(Options.DefaultName).Filter;
        var context = new DefaultHttpContext();
        context.Request.Host = new HostString(host);
        context.Request.Path = path;

        Assert.NotNull(filter);
        Assert.Equal(traced, filter(context));
    }
}
