using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Sessions;

/// <summary>A <see cref="SessionStack"/> shared by the tests of one class; each test makes its own user and project.</summary>
public sealed class StackFixture(TestServers servers) : IAsyncLifetime
{
    private SessionStack? _stack;

    public TestServers Servers => servers;

    public SessionStack Stack => _stack ?? throw new InvalidOperationException("Not initialized.");

    public async ValueTask InitializeAsync() => _stack = await SessionStack.StartAsync(servers);

    public async ValueTask DisposeAsync()
    {
        if (_stack is not null) { await _stack.DisposeAsync(); }
    }
}
