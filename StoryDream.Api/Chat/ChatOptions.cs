using System.ComponentModel.DataAnnotations;

namespace StoryDream.Api.Chat;

internal sealed class ChatOptions
{
    public const string SectionName = "Chat";

    /// <summary>The longest an agent turn may run before it is ended as failed; the turn lock is held that long at most.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "02:00:00")]
    public TimeSpan TurnTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long the agent has to end its turn after a <c>cancel</c> before the API ends it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan CancelGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Key for the conversation summary model (configuration <c>ANTHROPIC_API_KEY</c> when unset); without one the summary is extractive.</summary>
    public string? AnthropicApiKey { get; set; }

    [Required]
    public Uri AnthropicBaseUrl { get; set; } = new("https://api.anthropic.com/");

    [Required]
    public string SummaryModel { get; set; } = "claude-haiku-4-5";
}
