namespace StoryDream.Api.Snapshots;

/// <summary>Seeds every template at start, so the first project creation does not pay for it; retries until it succeeds.</summary>
internal sealed partial class TemplateSeeding(TemplateCatalog catalog, TimeProvider time, ILogger<TemplateSeeding> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        foreach (var templateId in catalog.TemplateIds)
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await catalog.GetAsync(templateId, stoppingToken);
                    break;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogSeedFailed(logger, templateId, delay, e);
                    await Task.Delay(delay, time, stoppingToken);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
                }
            }
        }
    }

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Seeding template {TemplateId} failed; retrying in {Delay}")]
    private static partial void LogSeedFailed(ILogger logger, string templateId, TimeSpan delay, Exception exception);
}
