namespace StoryDream.Api.Webhooks;

internal static class WebhookServices
{
    /// <summary>Webhook endpoints, the outbox and the dispatcher that sends what it schedules. Needs Redis and Firestore.</summary>
    public static IHostApplicationBuilder AddWebhookServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebhookOptions>()
            .BindConfiguration(WebhookOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<WebhookStore>();
        builder.Services.AddSingleton<WebhookDestinations>();
        builder.Services.AddSingleton<WebhookOutbox>();
        builder.Services.AddHostedService<WebhookDispatcher>();
        return builder;
    }
}
