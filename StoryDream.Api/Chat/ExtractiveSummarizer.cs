using System.Text;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;

namespace StoryDream.Api.Chat;

/// <summary>
/// Summarizes a chat without a model, deterministically: the first request in full (up to a limit), each later request
/// as one line (the user's decisions on where the video goes), and the files the agent touched with what it last did
/// to each. Always rebuilt from the whole conversation, so the same history gives the same text.
/// </summary>
internal sealed class ExtractiveSummarizer : IConversationSummarizer
{
    public const int MaxFirstRequestLength = 1_000;
    public const int MaxDecisionLength = 200;
    public const int MaxDecisions = 30;
    public const int MaxFiles = 60;

    public Task<string> SummarizeAsync(ConversationSummary? previous, IReadOnlyList<ChatMessage> throughBoundary, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(throughBoundary);
        return Task.FromResult(Summarize(throughBoundary));
    }

    public static string Summarize(IReadOnlyList<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var requests = messages.Where(m => m.Role == MessageRoles.User).Select(m => m.Content.Trim()).Where(c => c.Length > 0).ToList();
        var text = new StringBuilder();
        text.Append("Summary of the earlier conversation (").Append(messages.Count).AppendLine(" messages).");
        if (requests.Count > 0)
        {
            text.Append("First request: ").AppendLine(Clip(OneLine(requests[0]), MaxFirstRequestLength));
        }

        var decisions = requests.Skip(1).Select(r => Clip(FirstSentence(r), MaxDecisionLength)).ToList();
        if (decisions.Count > 0)
        {
            text.AppendLine("Decisions, in order:");
            if (decisions.Count > MaxDecisions)
            {
                text.Append("- (").Append(decisions.Count - MaxDecisions).AppendLine(" earlier requests left out)");
            }
            foreach (var decision in decisions.TakeLast(MaxDecisions)) { text.Append("- ").AppendLine(decision); }
        }

        // Last action per file, in the order files were first touched.
        var files = new Dictionary<string, MessageAction>(StringComparer.Ordinal);
        foreach (var action in messages.Where(m => m.Role == MessageRoles.Assistant).SelectMany(m => m.Actions))
        {
            if (!string.IsNullOrEmpty(action.FilePath)) { files[action.FilePath] = action; }
        }
        if (files.Count > 0)
        {
            text.AppendLine("Files touched:");
            foreach (var (path, action) in files.Take(MaxFiles))
            {
                text.Append("- ").Append(path).Append(" (").Append(Verb(action.Type)).Append(')');
                if (!string.IsNullOrWhiteSpace(action.Summary)) { text.Append(": ").Append(Clip(OneLine(action.Summary), MaxDecisionLength)); }
                text.AppendLine();
            }
            if (files.Count > MaxFiles) { text.Append("- and ").Append(files.Count - MaxFiles).AppendLine(" more files"); }
        }
        return text.ToString().TrimEnd();
    }

    private static string Verb(string type) => type switch
    {
        "file_create" => "created",
        "file_delete" => "deleted",
        "file_edit" => "edited",
        _ => type,
    };

    private static string FirstSentence(string text)
    {
        var line = OneLine(text);
        for (var i = 0; i < line.Length - 1; i++)
        {
            if (line[i] is '.' or '!' or '?' && line[i + 1] == ' ') { return line[..(i + 1)]; }
        }
        return line;
    }

    private static string OneLine(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private static string Clip(string text, int length) => text.Length <= length ? text : string.Concat(text.AsSpan(0, length - 1), "…");
}
