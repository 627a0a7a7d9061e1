using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Sessions;

/// <summary>A <see cref="SessionTestBed"/> shared by the tests of one class; each test makes its own user and project.</summary>
public sealed class TestBedFixture(TestServers servers) : IAsyncLifetime
{
    private SessionTestBed? _bed;

    public TestServers Servers => servers;

    public SessionTestBed Bed => _bed ?? throw new InvalidOperationException("Not initialized.");

    public async ValueTask InitializeAsync() => _bed = await SessionTestBed.StartAsync(servers);

    public async ValueTask DisposeAsync()
    {
        if (_bed is not null) { await _bed.DisposeAsync(); }
    }
}
