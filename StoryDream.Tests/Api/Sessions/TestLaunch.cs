using StoryDream.Api.Sessions;
using StoryDream.Sessions;

namespace StoryDream.Tests.Api.Sessions;

internal static class TestLaunch
{
    public static PodLaunch For(string sessionId) => new(PodCredentials.NewPodSecret(), PodCredentials.NewModelToken(sessionId));
}
