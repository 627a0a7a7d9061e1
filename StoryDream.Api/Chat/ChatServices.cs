using Microsoft.Extensions.Options;

namespace StoryDream.Api.Chat;

internal static class ChatServices
{
    /// <summary>The chat: fan-out, turns, context and summaries. Needs <c>AddSessionServices</c> and the stores.</summary>
    public static IHostApplicationBuilder AddChatServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatOptions>()
            .BindConfiguration(ChatOptions.SectionName)
            .PostConfigure<IConfiguration>((options, configuration) =>
            {
                if (string.IsNullOrWhiteSpace(options.AnthropicApiKey)) { options.AnthropicApiKey = configuration["ANTHROPIC_API_KEY"]; }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddSingleton<ChatHub>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ChatHub>());
        builder.Services.AddSingleton<ChatTurns>();
        builder.Services.AddHostedService(services => services.GetRequiredService<ChatTurns>());
        builder.Services.AddSingleton<ConversationContext>();
        builder.Services.AddHttpClient<ModelSummarizer>();
        builder.Services.AddSingleton<IConversationSummarizer>(services =>
            string.IsNullOrWhiteSpace(services.GetRequiredService<IOptions<ChatOptions>>().Value.AnthropicApiKey)
                ? new ExtractiveSummarizer()
                : services.GetRequiredService<ModelSummarizer>());

        return builder;
    }

    /// <summary><c>/api/projects/{id}/chat</c> exactly.</summary>
    public static bool IsChatRoute(PathString path)
    {
        var segments = path.Value?.Split('/') ?? [];
        return segments is ["", "api", "projects", { Length: > 0 }, "chat"];
    }
}
