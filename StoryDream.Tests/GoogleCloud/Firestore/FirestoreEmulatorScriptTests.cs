using System.Net;
using StoryDream.AppHost.LocalServers;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.GoogleCloud.Firestore;

/// <summary>eng/servers/firestore.sh, which the tests and the app host both start the emulator with.</summary>
public sealed class FirestoreEmulatorScriptTests(TestServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Ready_FirstCommitAlreadyMade_WarmUpDocumentReadable()
    {
        // The emulator's slow first commit is made before READY, in a project of its own; the app host's health check
        // reads the document it writes, so the services start after it. Read here at the app host's path: the two agree.
        var host = await servers.FirestoreEmulatorHostAsync();
        using var http = new HttpClient();

        using var response = await http.GetAsync(
            new Uri($"http://{host}{LocalServerExtensions.FirestoreWarmUpDocument}"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
