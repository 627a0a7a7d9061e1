using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using StoryDream.Api.Messages;
using StoryDream.Api.Sessions;
using StoryDream.Sessions;
using StoryDream.Tests.Api.Sessions;

namespace StoryDream.Tests.Api.Chat;

public sealed class ChatApiTests(TestBedFixture fixture) : IClassFixture<TestBedFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 180_000)]
    public async Task Chat_OneMessage_PersistedFirstThenDeltasActionCompleteAndASnapshotWithTheEdit()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);
        Assert.Equal("stopped", (string?)(await chat.WaitForAsync("session_status", Ct))["status"]);

        await chat.SendAsync(new { type = "user_message", content = "create src/hello.txt with Hello from the agent", clientMessageId = "c-1" }, Ct);

        var saved = await chat.WaitForAsync("message_saved", Ct);
        var userMessageId = (string)saved["message"]!["id"]!;
        Assert.Equal("c-1", (string?)saved["clientMessageId"]);
        Assert.Equal("user", (string?)saved["message"]!["role"]);
        var complete = await chat.WaitForAsync("assistant_complete", Ct);
        var snapshot = await chat.WaitForAsync("snapshot_created", Ct);

        var types = chat.Seen.Select(f => (string)f["type"]!).ToList();
        var firstDelta = types.IndexOf("assistant_delta");
        Assert.True(types.IndexOf("message_saved") < firstDelta, string.Join(",", types));
        Assert.True(firstDelta < types.IndexOf("agent_action"));
        Assert.True(types.IndexOf("agent_action") < types.IndexOf("assistant_complete"));
        var assistantId = (string)complete["message"]!["id"]!;
        var deltas = string.Concat(chat.Seen.Where(f => (string?)f["type"] == "assistant_delta").Select(f => (string)f["text"]!));
        Assert.All(chat.Seen.Where(f => (string?)f["type"] is "assistant_delta" or "agent_action"), f => Assert.Equal(assistantId, (string?)f["messageId"]));
        Assert.Equal("complete", (string?)complete["message"]!["status"]);
        Assert.Equal(deltas, (string?)complete["message"]!["content"]);
        var action = chat.Seen.Single(f => (string?)f["type"] == "agent_action")["action"]!;
        Assert.Equal("file_create", (string?)action["type"]);
        Assert.Equal("src/hello.txt", (string?)action["filePath"]);
        Assert.Equal(assistantId, (string?)snapshot["messageId"]);
        var snapshotId = (string)snapshot["snapshotId"]!;

        var edited = await client.GetStringAsync($"api/projects/{project.Id}/files/src/hello.txt?snapshot={snapshotId}", Ct);
        Assert.Equal("Hello from the agent", edited);
        var history = await MessagesAsync(client, project.Id);
        Assert.Equal([userMessageId, assistantId], history.Select(m => m.Id));
        Assert.Equal(MessageStatuses.Complete, history[1].Status);
        var stored = Assert.Single(history[1].Actions);
        Assert.Equal(snapshotId, stored.SnapshotId);
        Assert.Equal("src/hello.txt", stored.FilePath);
    }

    [Fact(Timeout = 180_000)]
    public async Task Chat_SecondTurn_ResumesTheAgentSessionFromTheFirst()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);

        await chat.SendAsync(new { type = "user_message", content = "hello" }, Ct);
        await chat.WaitForAsync("snapshot_created", Ct);
        await chat.SendAsync(new { type = "user_message", content = "hello again" }, Ct);
        var second = await chat.WaitForAsync("assistant_complete", Ct);

        Assert.StartsWith("Continuing our session (turn 2)", (string?)second["message"]!["content"], StringComparison.Ordinal);
    }

    [Fact(Timeout = 180_000)]
    public async Task Chat_MessageWhileATurnRuns_BusyAndOnlyOneTurn()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await StartAsync(client, project.Id);
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);

        await chat.SendAsync(new { type = "user_message", content = "[slow 300ms]\ncreate src/a.txt with a\ncreate src/b.txt with b" }, Ct);
        await chat.WaitForAsync("assistant_delta", Ct);
        await chat.SendAsync(new { type = "user_message", content = "create src/c.txt with c" }, Ct);

        var busy = await chat.WaitForAsync("error", Ct);
        Assert.Equal("busy", (string?)busy["code"]);
        await chat.WaitForAsync("snapshot_created", Ct);
        var history = await MessagesAsync(client, project.Id);
        Assert.Equal(2, history.Count);
    }

    [Fact(Timeout = 180_000)]
    public async Task Chat_Cancel_EndsTheTurnAsCancelledAndTheNextTurnRuns()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await StartAsync(client, project.Id);
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);

        await chat.SendAsync(new { type = "user_message", content = "[slow 2000ms]\ncreate src/a.txt with a\ncreate src/b.txt with b" }, Ct);
        await chat.WaitForAsync("assistant_delta", Ct);
        var cancelled = Stopwatch.GetTimestamp();
        await chat.SendAsync(new { type = "cancel" }, Ct);

        var error = await chat.WaitForAsync("error", Ct);
        var complete = await chat.WaitForAsync("assistant_complete", Ct);
        Assert.Equal("cancelled", (string?)error["code"]);
        Assert.Equal("failed", (string?)complete["message"]!["status"]);
        Assert.True(Stopwatch.GetElapsedTime(cancelled) < TimeSpan.FromSeconds(5), "cancel must not wait for the scripted steps");
        await chat.WaitForAsync("snapshot_created", Ct);
        await chat.SendAsync(new { type = "user_message", content = "create src/c.txt with c" }, Ct);
        var next = await chat.WaitForAsync("assistant_complete", Ct);
        Assert.Equal("complete", (string?)next["message"]!["status"]);
    }

    [Fact(Timeout = 240_000)]
    public async Task Chat_PodKilledMidTurn_UserMessageKeptAssistantFailedAndANewSessionHasTheLastSync()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);
        await chat.SendAsync(new { type = "user_message", content = "create src/synced.txt with synced" }, Ct);
        await chat.WaitForAsync("snapshot_created", Ct);
        var first = await Bed.Api.Service<SessionManager>().GetAsync(project.Id);

        await chat.SendAsync(new { type = "user_message", content = "[slow 400ms]\ncreate src/lost.txt with lost\ncreate src/lost2.txt with lost" }, Ct);
        var saved = await chat.WaitForAsync("message_saved", Ct);
        await chat.WaitForAsync("agent_action", Ct);
        Process.GetProcessById(Bed.PodPid(first!.SessionId)).Kill();

        var error = await chat.WaitForAsync("error", Ct);
        var failed = await chat.WaitForAsync("assistant_complete", Ct);
        Assert.Equal("agent_unavailable", (string?)error["code"]);
        Assert.Equal("failed", (string?)failed["message"]!["status"]);
        // The session is discarded before the turn's last frame, so its status may come first.
        if (!chat.Seen.Any(f => (string?)f["type"] == "session_status" && (string?)f["status"] == "stopped"))
        {
            await chat.WaitForAsync("session_status", Ct, f => (string?)f["status"] == "stopped");
        }
        var history = await MessagesAsync(client, project.Id);
        Assert.Equal((string?)saved["message"]!["id"], history[2].Id);
        Assert.Equal(MessageStatuses.Failed, history[3].Status);

        var second = await StartAsync(client, project.Id);
        Assert.NotEqual(first.SessionId, second.Id);
        Assert.Equal("synced", await File.ReadAllTextAsync(Path.Combine(Bed.Workspace(second.Id), "src", "synced.txt"), Ct));
        Assert.False(File.Exists(Path.Combine(Bed.Workspace(second.Id), "src", "lost.txt")));
    }

    [Fact(Timeout = 240_000)]
    public async Task Chat_TwoTabsOnTwoReplicas_SeeTheSameStream()
    {
        var second = Bed.Replicas.Count > 1 ? Bed.Replicas[1] : await Bed.AddApiAsync(fixture.Servers);
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await using var tabA = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);
        await using var tabB = await second.ChatAsync(project.Id, Bed.Token(user), Ct);
        await tabA.WaitForAsync("session_status", Ct);
        await tabB.WaitForAsync("session_status", Ct);

        await tabA.SendAsync(new { type = "user_message", content = "create src/tabs.txt with both\nsee you" }, Ct);
        await tabA.WaitForAsync("snapshot_created", Ct);
        await tabB.WaitForAsync("snapshot_created", Ct);

        static List<string> Stream(ChatSocket tab) =>
            tab.Seen.Where(f => (string?)f["type"] is not "session_status").Select(f => f.ToJsonString()).ToList();
        Assert.Equal(Stream(tabA), Stream(tabB));
        Assert.Contains(Stream(tabB), f => f.Contains("\"assistant_delta\"", StringComparison.Ordinal));
    }

    [Fact(Timeout = 180_000)]
    public async Task Chat_ClientClosesMidTurn_AssistantMessageStillCompletes()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await StartAsync(client, project.Id);
        var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);

        await chat.SendAsync(new { type = "user_message", content = "[slow 200ms]\ncreate src/a.txt with a\ncreate src/b.txt with b" }, Ct);
        await chat.WaitForAsync("assistant_delta", Ct);
        await chat.DisposeAsync();

        await SessionsApiTests.WaitUntilAsync(async () => (await MessagesAsync(client, project.Id)) is [_, { Status: MessageStatuses.Complete }]);
    }

    [Fact(Timeout = 60_000)]
    public async Task ChatTicket_ForgedToken_401()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var forged = Bed.Token(user)[..^4] + "AAAA";

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => Bed.Api.ChatTicketAsync(project.Id, forged, Ct));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Chat_MadeUpOrMissingTicket_Refused()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);

        var madeUp = await Assert.ThrowsAsync<WebSocketException>(() =>
            Bed.Api.ChatWithTicketAsync(project.Id, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_'), Ct));
        var malformed = await Assert.ThrowsAsync<WebSocketException>(() => Bed.Api.ChatWithTicketAsync(project.Id, "../../x", Ct));
        using var anonymous = Bed.Api.Client(null);
        var noTicket = await anonymous.GetAsync(new Uri(Bed.Api.BaseAddress, $"api/projects/{project.Id}/chat?ticket="), Ct);

        Assert.Contains("401", madeUp.Message, StringComparison.Ordinal);
        Assert.Contains("401", malformed.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, noTicket.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Chat_TicketUsedTwice_SecondRefused()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        var ticket = await Bed.Api.ChatTicketAsync(project.Id, Bed.Token(user), Ct);

        await using var first = await Bed.Api.ChatWithTicketAsync(project.Id, ticket, Ct);
        await first.WaitForAsync("session_status", Ct);
        var second = await Assert.ThrowsAsync<WebSocketException>(() => Bed.Api.ChatWithTicketAsync(project.Id, ticket, Ct));

        Assert.Contains("401", second.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Chat_TicketOfAnotherProject_RefusedAndSpent()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var first = await Bed.Api.CreateProjectAsync(client, Ct);
        var second = await Bed.Api.CreateProjectAsync(client, Ct);
        var ticket = await Bed.Api.ChatTicketAsync(first.Id, Bed.Token(user), Ct);

        var elsewhere = await Assert.ThrowsAsync<WebSocketException>(() => Bed.Api.ChatWithTicketAsync(second.Id, ticket, Ct));
        var afterwards = await Assert.ThrowsAsync<WebSocketException>(() => Bed.Api.ChatWithTicketAsync(first.Id, ticket, Ct));

        Assert.Contains("401", elsewhere.Message, StringComparison.Ordinal);
        Assert.Contains("401", afterwards.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task ChatTicket_Issued_LivesThirtySecondsBoundToUserAndProject()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);

        var ticket = await Bed.Api.ChatTicketAsync(project.Id, Bed.Token(user), Ct);
        var redis = Bed.Api.Service<IConnectionMultiplexer>().GetDatabase();
        var ttl = await redis.KeyTimeToLiveAsync(RedisKeys.ChatTicket(ticket));

        Assert.Equal($"{user} {project.Id}", (string?)await redis.StringGetAsync(RedisKeys.ChatTicket(ticket)));
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));
    }

    [Fact(Timeout = 60_000)]
    public async Task Chat_AccessTokenQuery_Refused()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        using var socket = new ClientWebSocket();
        var url = new UriBuilder(new Uri(Bed.Api.BaseAddress, $"api/projects/{project.Id}/chat")) { Scheme = "ws", Query = $"access_token={Uri.EscapeDataString(Bed.Token(user))}" };

        var refused = await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(url.Uri, Ct));

        Assert.Contains("401", refused.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task ChatTicket_AnotherUsersProject_404()
    {
        using var owner = Bed.Api.Client(SessionTestBed.NewUser());
        var project = await Bed.Api.CreateProjectAsync(owner, Ct);
        var stranger = SessionTestBed.NewUser();

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => Bed.Api.ChatTicketAsync(project.Id, Bed.Token(stranger), Ct));

        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task AccessTokenQuery_OtherRoutes_Ignored()
    {
        var user = SessionTestBed.NewUser();
        using var anonymous = Bed.Api.Client(null);

        var response = await anonymous.GetAsync($"api/projects?access_token={Uri.EscapeDataString(Bed.Token(user))}", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact(Timeout = 120_000)]
    public async Task Chat_BadFrames_AnsweredWithBadFrameAndTheSocketStaysOpen()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);
        await chat.WaitForAsync("session_status", Ct);

        foreach (var frame in new object[] { new { type = "user_message", content = "" }, new { type = "shout" }, new { content = "no type" },
            new { type = "user_message", content = new string('x', 20_001) } })
        {
            await chat.SendAsync(frame, Ct);
            Assert.Equal("bad_frame", (string?)(await chat.WaitForAsync("error", Ct))["code"]);
        }
        await chat.Socket.SendAsync("not json"u8.ToArray(), WebSocketMessageType.Text, true, Ct);
        Assert.Equal("bad_frame", (string?)(await chat.WaitForAsync("error", Ct))["code"]);
        Assert.Empty(await MessagesAsync(client, project.Id));
    }

    [Fact(Timeout = 60_000)]
    public async Task Chat_HugeFrame_ClosedAsTooBig()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);

        await chat.Socket.SendAsync(new byte[300 * 1024], WebSocketMessageType.Text, true, Ct);

        while (await chat.ReceiveAsync(Ct) is not null) { }
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, chat.Socket.CloseStatus);
    }

    [Fact(Timeout = 180_000)]
    public async Task Chat_PreviewErrors_ReachTheAgentOnTheNextTurn()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);

        await chat.SendAsync(new { type = "preview_error", message = "x is not defined", stack = "at MyVideo.tsx:3" }, Ct);
        await chat.SendAsync(new { type = "user_message", content = "fix it" }, Ct);
        var complete = await chat.WaitForAsync("assistant_complete", Ct);

        Assert.Contains("The preview reported: x is not defined.", (string?)complete["message"]!["content"], StringComparison.Ordinal);
    }

    private static async Task<SessionResponse> StartAsync(HttpClient client, string projectId)
    {
        var response = await client.PostAsync($"api/projects/{projectId}/session", null, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<SessionResponse>(Ct))!;
    }

    private static async Task<List<ChatMessage>> MessagesAsync(HttpClient client, string projectId)
    {
        var page = await client.GetFromJsonAsync<JsonObject>($"api/projects/{projectId}/messages?pageSize=200", Ct);
        return page!["items"].Deserialize<List<ChatMessage>>(JsonSerializerOptions.Web)!;
    }
}
