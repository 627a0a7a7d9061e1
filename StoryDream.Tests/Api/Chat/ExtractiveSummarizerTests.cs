using StoryDream.Api.Chat;
using StoryDream.Api.Messages;

namespace StoryDream.Tests.Api.Chat;

public sealed class ExtractiveSummarizerTests
{
    [Fact]
    public void Summarize_Conversation_FirstRequestDecisionsAndFilesWithTheirLastAction()
    {
        var messages = new List<ChatMessage>
        {
            Message(MessageRoles.User, "Make a   launch video\nfor our app. Use blue."),
            Message(MessageRoles.Assistant, "Done.", new MessageAction("file_create", "src/Intro.tsx", "Created the intro", null)),
            Message(MessageRoles.User, "Make the title bigger! And slower."),
            Message(MessageRoles.Assistant, "Sure.", new MessageAction("file_edit", "src/Intro.tsx", "Bigger title", null),
                new MessageAction("command_run", null, "ran tsc", null)),
            Message(MessageRoles.User, "Drop the outro"),
            Message(MessageRoles.Assistant, "Removed.", new MessageAction("file_delete", "src/Outro.tsx", "Deleted the outro", null)),
        };

        var summary = ExtractiveSummarizer.Summarize(messages);

        Assert.Equal(
            """
            Summary of the earlier conversation (6 messages).
            First request: Make a launch video for our app. Use blue.
            Decisions, in order:
            - Make the title bigger!
            - Drop the outro
            Files touched:
            - src/Intro.tsx (edited): Bigger title
            - src/Outro.tsx (deleted): Deleted the outro
            """.ReplaceLineEndings("\n"),
            summary.ReplaceLineEndings("\n"));
        Assert.Equal(summary, ExtractiveSummarizer.Summarize(messages));
    }

    [Fact]
    public void Summarize_LongConversation_BoundedWithCountsOfWhatWasLeftOut()
    {
        var messages = new List<ChatMessage> { Message(MessageRoles.User, new string('a', 5_000)) };
        for (var i = 0; i < 100; i++)
        {
            messages.Add(Message(MessageRoles.User, $"Decision {i}."));
            messages.Add(Message(MessageRoles.Assistant, "ok", new MessageAction("file_create", $"src/f{i}.tsx", null, null)));
        }

        var summary = ExtractiveSummarizer.Summarize(messages);

        Assert.Contains("- (70 earlier requests left out)", summary, StringComparison.Ordinal);
        Assert.Contains("- Decision 99.", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("- Decision 69.", summary, StringComparison.Ordinal);
        Assert.Contains("- and 40 more files", summary, StringComparison.Ordinal);
        Assert.True(summary.Length < 10_000);
    }

    [Fact]
    public void Summarize_NoMessages_JustTheHeading() =>
        Assert.Equal("Summary of the earlier conversation (0 messages).", ExtractiveSummarizer.Summarize([]));

    private static ChatMessage Message(string role, string content, params MessageAction[] actions) =>
        new(Guid.NewGuid().ToString("D"), role, content, MessageStatuses.Complete, actions, DateTimeOffset.UtcNow, null);
}
