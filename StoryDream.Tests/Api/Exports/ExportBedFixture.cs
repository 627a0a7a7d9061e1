using StoryDream.Tests.Api.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Exports;

/// <summary>
/// A session test bed whose exports poll quickly and call a render stale after 20 s rather than 60, with one warm render
/// pod, as the API has by default: renders take it when it is ready and start their own when it is not.
/// </summary>
public sealed class ExportBedFixture(TestServers servers) : IAsyncLifetime
{
    private SessionTestBed? _bed;

    public SessionTestBed Bed => _bed ?? throw new InvalidOperationException("Not initialized.");

    public async ValueTask InitializeAsync() => _bed = await SessionTestBed.StartAsync(servers, new Dictionary<string, string?>
    {
        ["Exports:PollInterval"] = "00:00:00.250",
        ["Exports:StaleAfter"] = "00:00:20",
        ["Exports:MaxActivePerUser"] = "3",
        ["Exports:MaxConcurrentRenders"] = "2",
        ["Exports:WarmRenderPods"] = "1",
    });

    public async ValueTask DisposeAsync()
    {
        if (_bed is not null) { await _bed.DisposeAsync(); }
    }
}
