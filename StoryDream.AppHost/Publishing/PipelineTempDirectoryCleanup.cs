using Aspire.Hosting.Pipelines;
using Microsoft.Extensions.Hosting;

namespace StoryDream.AppHost.Publishing;

/// <summary>
/// Aspire 13.6's pipeline output service makes a temporary folder (<c>/tmp/aspire-pipelines*</c>) each time the app host
/// starts, in run mode too, and never deletes it; this deletes it when the app host stops, once no step can use it.
/// </summary>
internal sealed class PipelineTempDirectoryCleanup(IPipelineOutputService output) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        var directory = output.GetTempDirectory();
        if (Directory.Exists(directory)) { Directory.Delete(directory, recursive: true); }
        return Task.CompletedTask;
    }
}
