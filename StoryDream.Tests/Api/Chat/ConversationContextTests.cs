using System.Net.Http.Json;
using System.Text.Json.Nodes;
using StoryDream.Api.Chat;
using StoryDream.Api.Messages;
using StoryDream.Api.Projects;
using StoryDream.Tests.Api.Sessions;

namespace StoryDream.Tests.Api.Chat;

public sealed class ConversationContextTests(TestBedFixture fixture) : IClassFixture<TestBedFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 120_000)]
    public async Task Init_FivePriorMessages_CarriesThemAllAndNoSummary()
    {
        var (user, project) = await ProjectAsync();
        var prior = await SeedAsync(project.Id, 5);
        var current = await AddAsync(project.Id, MessageRoles.User, "now this");

        var context = await Bed.Api.Service<ConversationContext>().BuildAsync(await ReadAsync(user, project.Id), current.Id, Ct);

        Assert.Null(context["summary"]);
        Assert.Equal(prior.Select(m => m.Id), Ids(context));
        Assert.Equal(prior.Select(m => m.Content), context["messages"]!.AsArray().Select(m => (string?)m!["content"]));
        Assert.Null((await ReadAsync(user, project.Id)).ConversationSummary);
    }

    [Fact(Timeout = 120_000)]
    public async Task Init_FortyFivePriorMessages_CarriesTheSummaryOfTheFirst35AndTheLast10()
    {
        var (user, project) = await ProjectAsync();
        var prior = await SeedAsync(project.Id, 45);
        var current = await AddAsync(project.Id, MessageRoles.User, "now this");

        var context = await Bed.Api.Service<ConversationContext>().BuildAsync(await ReadAsync(user, project.Id), current.Id, Ct);

        Assert.Equal(prior.Skip(35).Select(m => m.Id), Ids(context));
        var summary = (string?)context["summary"];
        Assert.Equal(ExtractiveSummarizer.Summarize(prior.Take(35).ToList()), summary);
        Assert.Contains("First request: Make a video about otters.", summary, StringComparison.Ordinal);
        Assert.Contains("- Request 35.", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("Request 37.", summary, StringComparison.Ordinal);
        Assert.Contains("- src/scene-33.tsx (created): Created src/scene-33.tsx", summary, StringComparison.Ordinal);
        var stored = (await ReadAsync(user, project.Id)).ConversationSummary;
        Assert.Equal(new ConversationSummary(summary!, prior[34].Id), stored);
    }

    [Fact(Timeout = 120_000)]
    public async Task Init_ExactlyThirtyPriorMessages_StillTheWholeHistory()
    {
        var (user, project) = await ProjectAsync();
        var prior = await SeedAsync(project.Id, 30);
        var current = await AddAsync(project.Id, MessageRoles.User, "now this");

        var context = await Bed.Api.Service<ConversationContext>().BuildAsync(await ReadAsync(user, project.Id), current.Id, Ct);

        Assert.Null(context["summary"]);
        Assert.Equal(prior.Select(m => m.Id), Ids(context));
    }

    [Fact(Timeout = 120_000)]
    public async Task Init_StreamingMessageLeftByADeadTurn_MarkedFailed()
    {
        var (user, project) = await ProjectAsync();
        await AddAsync(project.Id, MessageRoles.User, "first");
        var abandoned = await AddAsync(project.Id, MessageRoles.Assistant, "half an ans", MessageStatuses.Streaming);
        var current = await AddAsync(project.Id, MessageRoles.User, "second");

        var context = await Bed.Api.Service<ConversationContext>().BuildAsync(await ReadAsync(user, project.Id), current.Id, Ct);

        Assert.Equal(MessageStatuses.Failed, (string?)context["messages"]![1]!["status"]);
        var stored = (await Bed.Api.Service<IMessageStore>().ListLatestAsync(project.Id, 5, Ct)).Single(m => m.Id == abandoned.Id);
        Assert.Equal(MessageStatuses.Failed, stored.Status);
    }

    [Fact(Timeout = 240_000)]
    public async Task Chat_FortyFivePriorMessages_AgentReadsTheContextAndTheSummaryFollowsTheChat()
    {
        var (user, project) = await ProjectAsync();
        var prior = await SeedAsync(project.Id, 45);
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);

        await chat.SendAsync(new { type = "user_message", content = "carry on" }, Ct);
        var complete = await chat.WaitForAsync("assistant_complete", Ct);

        Assert.Contains("I have read the earlier conversation.", (string?)complete["message"]!["content"], StringComparison.Ordinal);
        // 47 messages now: the next turn's context ends its summary at the 37th, and the chat keeps it there.
        await SessionsApiTests.WaitUntilAsync(async () => (await ReadAsync(user, project.Id)).ConversationSummary?.ThroughMessageId == prior[36].Id);
    }

    [Fact(Timeout = 240_000)]
    public async Task Chat_FivePriorMessages_AgentReadsTheContext()
    {
        var (user, project) = await ProjectAsync();
        await SeedAsync(project.Id, 5);
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);

        await chat.SendAsync(new { type = "user_message", content = "carry on" }, Ct);
        var complete = await chat.WaitForAsync("assistant_complete", Ct);

        Assert.Contains("I have read the earlier conversation.", (string?)complete["message"]!["content"], StringComparison.Ordinal);
        Assert.Null((await ReadAsync(user, project.Id)).ConversationSummary);
    }

    private async Task<(string User, ProjectResponse Project)> ProjectAsync()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var created = await client.PostAsJsonAsync("api/projects", new { name = "Context" }, Ct);
        created.EnsureSuccessStatusCode();
        return (user, (await created.Content.ReadFromJsonAsync<ProjectResponse>(Ct))!);
    }

    /// <summary>Alternating requests and answers; each answer creates a file.</summary>
    private async Task<List<ChatMessage>> SeedAsync(string projectId, int count)
    {
        var messages = new List<ChatMessage>();
        for (var i = 1; i <= count; i++)
        {
            messages.Add(i % 2 == 1
                ? await AddAsync(projectId, MessageRoles.User, i == 1 ? "Make a video about otters. Keep it short." : $"Request {i}. More detail here.")
                : await AddAsync(projectId, MessageRoles.Assistant, $"Answer {i}.", actions: [new MessageAction("file_create", $"src/scene-{i - 1}.tsx", $"Created src/scene-{i - 1}.tsx", null)]));
        }
        return messages;
    }

    private Task<ChatMessage> AddAsync(string projectId, string role, string content, string status = MessageStatuses.Complete, IReadOnlyList<MessageAction>? actions = null) =>
        Bed.Api.Service<IMessageStore>().AddAsync(projectId,
            new ChatMessage(Guid.NewGuid().ToString("D"), role, content, status, actions ?? [], DateTimeOffset.UtcNow, null), Ct);

    private async Task<Project> ReadAsync(string user, string projectId) =>
        (await Bed.Api.Service<IProjectStore>().GetAsync(user, projectId, Ct))!;

    private static IEnumerable<string?> Ids(JsonObject context) => context["messages"]!.AsArray().Select(m => (string?)m!["id"]);
}
