using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;

namespace StoryDream.Api.Chat;

/// <summary>
/// Keeps the running summary through Anthropic's Messages API: the previous summary plus the messages since, folded into
/// a new one. When the model cannot be reached the extractive summary stands in, so a chat never goes without context.
/// </summary>
internal sealed partial class ModelSummarizer(HttpClient http, IOptions<ChatOptions> options, ILogger<ModelSummarizer> logger) : IConversationSummarizer
{
    private const int MaxMessageChars = 2_000;
    private const int MaxPromptChars = 60_000;
    private const string Instructions =
        "You keep the running summary of a chat in which a user makes a Remotion video with an AI agent that edits the project's files. " +
        "Write a summary another agent can continue the work from: the user's first request, every decision taken since (style, content, " +
        "timing, what was rejected), and the files touched with what changed. Plain text, at most 300 words, no preamble.";

    public async Task<string> SummarizeAsync(ConversationSummary? previous, IReadOnlyList<ChatMessage> throughBoundary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(throughBoundary);
        var start = previous is null ? -1 : IndexOf(throughBoundary, previous.ThroughMessageId);
        var prior = start >= 0 ? previous!.Text : null;
        var fresh = throughBoundary.Skip(start + 1).ToList();

        var prompt = new StringBuilder();
        if (prior is not null) { prompt.Append("Summary so far:\n").Append(prior).Append("\n\n"); }
        prompt.Append(prior is null ? "The conversation:\n" : "Messages since:\n");
        var transcript = new StringBuilder();
        foreach (var message in fresh) { AppendMessage(transcript, message); }
        // The newest messages matter most when a long gap has to be cut.
        prompt.Append(transcript.Length <= MaxPromptChars ? transcript.ToString() : transcript.ToString()[^MaxPromptChars..]);
        prompt.Append("\nWrite the updated summary.");

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(options.Value.AnthropicBaseUrl, "v1/messages"))
            {
                Content = JsonContent.Create(new JsonObject
                {
                    ["model"] = options.Value.SummaryModel,
                    ["max_tokens"] = 800,
                    ["system"] = Instructions,
                    ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt.ToString() }),
                }),
            };
            request.Headers.Add("x-api-key", options.Value.AnthropicApiKey);
            request.Headers.Add("anthropic-version", "2023-06-01");
            using var response = await http.SendAsync(request, cancellationToken);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
            var text = body?["content"] is JsonArray content
                ? string.Concat(content.OfType<JsonObject>().Where(c => (string?)c["type"] == "text").Select(c => (string?)c["text"]))
                : null;
            if (string.IsNullOrWhiteSpace(text)) { throw new InvalidOperationException("The model answered without text."); }
            return text.Trim();
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or System.Text.Json.JsonException or TaskCanceledException
            && !cancellationToken.IsCancellationRequested)
        {
            LogModelFailed(logger, e);
            return ExtractiveSummarizer.Summarize(throughBoundary);
        }
    }

    private static int IndexOf(IReadOnlyList<ChatMessage> messages, string id)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i].Id == id) { return i; }
        }
        return -1;
    }

    private static void AppendMessage(StringBuilder transcript, ChatMessage message)
    {
        var content = message.Content.Length <= MaxMessageChars ? message.Content : message.Content[..MaxMessageChars] + "…";
        transcript.Append('[').Append(message.Role).Append("] ").Append(content).Append('\n');
        foreach (var action in message.Actions)
        {
            transcript.Append("  (").Append(action.Type).Append(' ').Append(action.FilePath).Append(": ").Append(action.Summary).Append(")\n");
        }
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "The summary model failed; the extractive summary stands in")]
    private static partial void LogModelFailed(ILogger logger, Exception exception);
}
