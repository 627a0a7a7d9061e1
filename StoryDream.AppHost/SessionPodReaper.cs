using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StoryDream.Sessions;

namespace StoryDream.AppHost;

/// <summary>
/// Session pods are the API's children, not the app host's: they outlive an API restart on purpose (the next API adopts
/// them), so stopping the API leaves them running. When the whole app host stops, this stops every pod of this run,
/// found through the state files the API's local session runtime keeps under the run's sessions folder.
/// </summary>
internal sealed partial class SessionPodReaper(AppHostSettings settings, ILogger<SessionPodReaper> logger) : IHostedService
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(settings.SessionsDirectory)) { return; }
        var pods = Directory.EnumerateFiles(settings.SessionsDirectory, "state.json", SearchOption.AllDirectories)
            .Select(ReadPod).OfType<Pod>().Where(pod => LocalPodProcess.IsAlive(pod.Pid, pod.StartTicks)).ToList();
        foreach (var pod in pods) { LogStopping(logger, pod.SessionId, pod.Pid); }
        // All at once, each as the API's local runtime stops it: its group signalled, then killed after the grace.
        await Task.WhenAll(pods.Select(pod => LocalPodProcess.StopAsync(pod.Pid, pod.StartTicks, StopGrace)));
    }

    private static Pod? ReadPod(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Pod>(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private sealed record Pod(string SessionId, int Pid, long StartTicks);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping session pod {SessionId} (process {Pid})")]
    private static partial void LogStopping(ILogger logger, string sessionId, int pid);
}
