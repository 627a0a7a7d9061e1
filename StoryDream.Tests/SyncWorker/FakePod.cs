using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StoryDream.Sessions;

namespace StoryDream.Tests.SyncWorker;

/// <summary>
/// A hostile pod on a real Kestrel port: it answers the file API with whatever a test hands it, which the real
/// session-pod would never send (bad paths, lying tars, oversized answers).
/// </summary>
internal sealed class FakePod : ITestPod, IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakePod(WebApplication app, Uri filesUrl)
    {
        _app = app;
        FilesUrl = filesUrl;
    }

    public Uri FilesUrl { get; }

    public string SessionId { get; } = Guid.NewGuid().ToString("D");

    // It is the session's pod, only a lying one: it proves who it is like a real pod does.
    public string PodSecret { get; } = PodCredentials.NewPodSecret();

    public static async Task<FakePod> StartAsync(RequestDelegate manifest, RequestDelegate? read = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakePod? pod = null;
        app.MapGet("/health", (string? challenge) => Results.Json(new
        {
            status = "ok",
            sessionId = pod!.SessionId,
            proof = challenge is null ? null : PodIdentity.Proof(pod.PodSecret, pod.SessionId, challenge),
        }));
        app.MapGet("/files/manifest", manifest);
        app.MapPost("/files/read", read ?? (context => { context.Response.StatusCode = 500; return Task.CompletedTask; }));
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        pod = new FakePod(app, new Uri(address + "/"));
        return pod;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
