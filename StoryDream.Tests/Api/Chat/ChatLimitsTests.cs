using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using StoryDream.Api.Chat;
using StoryDream.Api.Messages;
using StoryDream.Api.Sessions;
using StoryDream.Tests.Api.Sessions;

namespace StoryDream.Tests.Api.Chat;

/// <summary>What an agent that sends too much, or sends nonsense, can do to a turn: clipped, stopped, ended; never stored past the limits.</summary>
public sealed class ChatLimitsTests(TestBedFixture fixture) : IClassFixture<TestBedFixture>
{
    private static readonly ChatOptions Defaults = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 180_000)]
    public async Task Chat_DeltaOverTheLimit_ClippedOnACharacterBoundaryAndMarked()
    {
        // Two bytes, then four-byte characters: the limit falls inside one, which must not be split.
        var huge = "ab" + string.Concat(Enumerable.Repeat("😀", Defaults.MaxDeltaBytes));
        await using var turn = await TurnAsync(
            new { type = "assistant_delta", text = huge },
            new { type = "assistant_delta", text = " and on." },
            new { type = "turn_complete", agentSessionId = "stand-in" });
        var (client, chat, projectId, _) = turn;

        var complete = await chat.WaitForAsync("assistant_complete", Ct);

        var deltas = chat.Seen.Where(f => (string?)f["type"] == "assistant_delta").Select(f => (string)f["text"]!).ToList();
        var kept = "ab" + string.Concat(Enumerable.Repeat("😀", (Defaults.MaxDeltaBytes - 2) / 4));
        Assert.Equal([kept + TurnContent.ClipMarker, " and on."], deltas);
        Assert.True(Encoding.UTF8.GetByteCount(kept) <= Defaults.MaxDeltaBytes);
        Assert.Equal("complete", (string?)complete["message"]!["status"]);
        var stored = (await MessagesAsync(client, projectId))[1];
        Assert.Equal(string.Concat(deltas), stored.Content);
    }

    [Fact(Timeout = 180_000)]
    public async Task Chat_TurnOverItsBudget_AgentStoppedErrorFrameAndFailedMessageKeptToTheLimit()
    {
        var delta = new string('x', 16_000);
        var frames = Enumerable.Range(0, Defaults.TurnBudgetBytes / delta.Length + 8).Select(_ => (object)new { type = "assistant_delta", text = delta })
            .Append(StandInAgent.WaitForCancel)
            .Append(new { type = "assistant_delta", text = "after the stop" })
            .Append(new { type = "turn_complete", agentSessionId = "stand-in" });
        await using var turn = await TurnAsync([.. frames]);
        var (client, chat, projectId, agent) = turn;

        var error = await chat.WaitForAsync("error", Ct);
        var failed = await chat.WaitForAsync("assistant_complete", Ct);

        Assert.Equal(ChatErrorCodes.TurnTooLarge, (string?)error["code"]);
        Assert.Contains("Chat:TurnBudgetBytes", (string?)error["detail"], StringComparison.Ordinal);
        Assert.Equal("failed", (string?)failed["message"]!["status"]);
        Assert.True(agent.CancelReceived, "the agent must be stopped as a cancel stops it");
        var relayed = string.Concat(chat.Seen.Where(f => (string?)f["type"] == "assistant_delta").Select(f => (string)f["text"]!));
        Assert.Equal(Defaults.TurnBudgetBytes, relayed.Length);
        var stored = (await MessagesAsync(client, projectId))[1];
        Assert.Equal(MessageStatuses.Failed, stored.Status);
        Assert.Equal(relayed, stored.Content);
        // The turn is over: the project takes the next message.
        await chat.WaitForAsync("snapshot_created", Ct);
        Assert.False(await Bed.Api.Service<IConnectionMultiplexer>().GetDatabase().KeyExistsAsync(ChatTurns.LockKey(projectId)));
    }

    [Fact(Timeout = 180_000)]
    public async Task Chat_ThousandsOfLongActions_CappedClippedAndTheMessageFitsOneDocument()
    {
        var longPath = "src/" + new string('p', 3_000);
        var frames = Enumerable.Range(0, 1_000)
            .Select(i => (object)new { type = "action", action = new { type = "file_edit", filePath = $"{longPath}{i}", summary = new string('é', 3_000) } })
            .Append(new { type = "assistant_delta", text = "Edited them all." })
            .Append(new { type = "turn_complete", agentSessionId = "stand-in" });
        await using var turn = await TurnAsync([.. frames]);
        var (client, chat, projectId, _) = turn;

        var complete = await chat.WaitForAsync("assistant_complete", Ct);
        await chat.WaitForAsync("snapshot_created", Ct);

        Assert.Equal("complete", (string?)complete["message"]!["status"]);
        Assert.Equal(Defaults.MaxActions, chat.Seen.Count(f => (string?)f["type"] == "agent_action"));
        var stored = (await MessagesAsync(client, projectId))[1];
        Assert.Equal(Defaults.MaxActions, stored.Actions.Count);
        Assert.All(stored.Actions, a =>
        {
            Assert.True(Encoding.UTF8.GetByteCount(a.FilePath!) <= Defaults.MaxActionTextBytes);
            Assert.True(Encoding.UTF8.GetByteCount(a.Summary!) <= Defaults.MaxActionTextBytes);
        });
        Assert.True(Defaults.MaxMessageBytes <= ChatOptions.FirestoreMaxDocumentBytes);
    }

    [Fact(Timeout = 180_000)]
    public async Task Chat_MalformedAgentFrame_ErrorFrameAndFailedMessageUserMessageKept()
    {
        await using var turn = await TurnAsync(
            new { type = "assistant_delta", text = "Starting. " },
            "{\"type\": \"assistant_delta\", \"text\": ",
            new { type = "turn_complete", agentSessionId = "stand-in" });
        var (client, chat, projectId, _) = turn;

        var error = await chat.WaitForAsync("error", Ct);
        var failed = await chat.WaitForAsync("assistant_complete", Ct);

        Assert.Equal(ChatErrorCodes.AgentError, (string?)error["code"]);
        Assert.Contains("not valid JSON", (string?)error["detail"], StringComparison.Ordinal);
        Assert.Equal("failed", (string?)failed["message"]!["status"]);
        var history = await MessagesAsync(client, projectId);
        Assert.Equal([MessageRoles.User, MessageRoles.Assistant], history.Select(m => m.Role));
        Assert.Equal(MessageStatuses.Failed, history[1].Status);
        Assert.Equal("Starting. ", history[1].Content);
    }

    [Theory]
    [InlineData("abc", 3, "abc")]
    [InlineData("héllo", 2, "h")]
    [InlineData("héllo", 3, "hé")]
    [InlineData("😀x", 3, "")]
    [InlineData("a😀x", 5, "a😀")]
    public void TurnContent_Clip_NeverSplitsACharacter(string text, int maxBytes, string expected) =>
        Assert.Equal(expected, TurnContent.Clip(text, maxBytes));

    [Fact]
    public void ChatOptions_LimitsPastOneFirestoreDocument_Refused()
    {
        var options = new ChatOptions { TurnBudgetBytes = 900_000, MaxActions = 200, MaxActionTextBytes = 1_024 };

        var results = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).ToList();

        Assert.Contains(nameof(ChatOptions.TurnBudgetBytes), Assert.Single(results).MemberNames);
        Assert.Empty(Defaults.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(Defaults)));
    }

    /// <summary>A project with a ready session whose agent is a stand-in playing <paramref name="frames"/>, and one message sent.</summary>
    private async Task<ScriptedTurn> TurnAsync(params object[] frames)
    {
        var user = SessionTestBed.NewUser();
        var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var started = await client.PostAsync($"api/projects/{project.Id}/session", null, Ct);
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var session = await Bed.Api.Service<SessionManager>().GetAsync(project.Id);
        var agent = await StandInAgent.ReplaceAsync(Bed.Api.Service<IConnectionMultiplexer>(), session!, frames);
        var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);
        await chat.SendAsync(new { type = "user_message", content = "go" }, Ct);
        await chat.WaitForAsync("message_saved", Ct);
        return new ScriptedTurn(client, chat, project.Id, agent);
    }

    private static async Task<List<ChatMessage>> MessagesAsync(HttpClient client, string projectId)
    {
        var page = await client.GetFromJsonAsync<JsonObject>($"api/projects/{projectId}/messages?pageSize=200", Ct);
        return page!["items"].Deserialize<List<ChatMessage>>(JsonSerializerOptions.Web)!;
    }

    private sealed record ScriptedTurn(HttpClient Client, ChatSocket Chat, string ProjectId, StandInAgent Agent) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Chat.DisposeAsync();
            await Agent.DisposeAsync();
            Client.Dispose();
        }
    }
}
