using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using StoryDream.Api.Webhooks;
using StoryDream.Tests.Api.Sessions;

namespace StoryDream.Tests.Api.Headless;

public sealed class HeadlessApiTests(HeadlessBedFixture fixture) : IClassFixture<HeadlessBedFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] AllPhases = ["queued", "starting", "agent_running", "syncing", "complete"];
    private static readonly string[] JobEvents = ["job.completed", "job.failed"];
    private static readonly string[] UnknownEvent = ["job.started"];
    private static readonly string[] CompletedEvent = ["job.completed"];

    private SessionTestBed Bed => fixture.Bed;

    [Fact(Timeout = 180_000)]
    public async Task Requirements_NoProject_NewProjectMadeFromTheBriefAndTheSignedWebhookArrives()
    {
        var user = SessionTestBed.NewUser();
        var (_, client) = await Headless.ApiKeyClientAsync(Bed.Api, user);
        using var _ = client;
        await using var receiver = await WebhookReceiver.StartAsync();

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new
        {
            requirements = "Intro video\ncreate src/intro.txt with Welcome to the product",
            webhookUrl = receiver.Url.ToString(),
        }));

        Assert.Equal("queued", (string?)accepted["status"]);
        var jobId = (string)accepted["jobId"]!;
        var projectId = (string)accepted["projectId"]!;
        Assert.Equal($"/api/jobs/{jobId}", (string?)accepted["statusUrl"]);
        var secret = (string)accepted["webhook"]!["secret"]!;
        var delivery = await receiver.WaitForAsync(WebhookEvents.JobCompleted, Ct);
        Assert.True(WebhookSignature.Verify(secret, delivery.Signature, Encoding.UTF8.GetBytes(delivery.Body), DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
        var data = delivery.Json["data"]!;
        Assert.Equal(jobId, (string?)data["jobId"]);
        Assert.Equal("complete", (string?)data["status"]);
        var snapshotId = (string)data["snapshotId"]!;

        var job = await Headless.FinishedAsync(client, jobId);
        Assert.Equal("complete", (string?)job["phase"]);
        Assert.Equal(snapshotId, (string?)job["result"]!["snapshotId"]);
        Assert.False(string.IsNullOrEmpty((string?)job["result"]!["reply"]));
        Assert.All(AllPhases, phase => Assert.NotNull(job["timings"]![phase]));
        var project = (await client.GetFromJsonAsync<JsonObject>($"api/projects/{projectId}", Ct))!;
        Assert.Equal("Intro video", (string?)project["name"]);
        Assert.Equal(snapshotId, (string?)project["headSnapshotId"]);
        Assert.Equal("Welcome to the product", await client.GetStringAsync($"api/projects/{projectId}/files/src/intro.txt?snapshot={snapshotId}", Ct));
        // The job started the session, so it stops it once done.
        await WaitUntilAsync(async () => (await client.GetAsync($"api/projects/{projectId}/session", Ct)).StatusCode == HttpStatusCode.NotFound);
        var listed = (await client.GetFromJsonAsync<JsonObject>($"api/jobs?projectId={projectId}", Ct))!;
        Assert.Equal(jobId, (string?)Assert.Single(listed["items"]!.AsArray())!["jobId"]);
    }

    [Fact(Timeout = 180_000)]
    public async Task Requirements_ExistingProject_HistoryShowsTheApiClientsMessage()
    {
        var user = SessionTestBed.NewUser();
        using var bearer = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(bearer, Ct);
        var (clientId, client) = await Headless.ApiKeyClientAsync(Bed.Api, user, "release-bot");
        using var _ = client;

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client,
            new { projectId = project.Id, requirements = "create src/change.txt with Changed by the API" }));
        var job = await Headless.FinishedAsync(client, (string)accepted["jobId"]!);

        Assert.Equal("complete", (string?)job["status"]);
        Assert.Equal(project.Id, (string?)accepted["projectId"]);
        var history = await Headless.MessagesAsync(bearer, project.Id);
        Assert.Equal(2, history.Count);
        Assert.Equal("user", (string?)history[0]!["role"]);
        Assert.Equal("create src/change.txt with Changed by the API", (string?)history[0]!["content"]);
        Assert.Equal("api", (string?)history[0]!["source"]!["kind"]);
        Assert.Equal(clientId, (string?)history[0]!["source"]!["clientId"]);
        Assert.Equal("release-bot", (string?)history[0]!["source"]!["clientName"]);
        Assert.Equal("assistant", (string?)history[1]!["role"]);
        Assert.Equal((string?)job["result"]!["reply"], (string?)history[1]!["content"]);
        Assert.Equal("Changed by the API", await bearer.GetStringAsync($"api/projects/{project.Id}/files/src/change.txt", Ct));
    }

    [Fact(Timeout = 180_000)]
    public async Task Requirements_WhileAPersonsTurnRuns_QueuedBehindItInTheOpenSessionWhichStaysOpen()
    {
        var user = SessionTestBed.NewUser();
        using var bearer = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(bearer, Ct);
        (await bearer.PostAsync($"api/projects/{project.Id}/session", null, Ct)).EnsureSuccessStatusCode();
        await using var chat = await Bed.Api.ChatAsync(project.Id, Bed.Token(user), Ct);
        await chat.SendAsync(new { type = "user_message", content = "[slow 500ms]\ncreate src/person.txt with p\ncreate src/person2.txt with q" }, Ct);
        await chat.WaitForAsync("assistant_delta", Ct);

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(bearer, new { projectId = project.Id, requirements = "create src/api.txt with from the API" }));
        var job = await Headless.FinishedAsync(bearer, (string)accepted["jobId"]!);

        Assert.Equal("complete", (string?)job["status"]);
        var history = await Headless.MessagesAsync(bearer, project.Id);
        Assert.Equal(["user", "assistant", "user", "assistant"], history.Select(m => (string?)m!["role"]));
        Assert.Null(history[0]!["source"]);
        Assert.Equal("api", (string?)history[2]!["source"]!["kind"]);
        Assert.All(history, m => Assert.Equal("complete", (string?)m!["status"]));
        // The person in the studio sees the API's message arrive in the open chat.
        var saved = await chat.WaitForAsync("message_saved", Ct, f => (string?)f["message"]!["source"]?["kind"] == "api");
        Assert.Equal("create src/api.txt with from the API", (string?)saved["message"]!["content"]);
        // The job joined the person's session, so it leaves it running, with a preview to look at.
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync($"api/projects/{project.Id}/session", Ct)).StatusCode);
        Assert.Contains("sd_token=", (string?)job["result"]!["previewUrl"], StringComparison.Ordinal);
        var snapshotId = (string)job["result"]!["snapshotId"]!;
        Assert.Equal("p", await bearer.GetStringAsync($"api/projects/{project.Id}/files/src/person.txt?snapshot={snapshotId}", Ct));
        Assert.Equal("from the API", await bearer.GetStringAsync($"api/projects/{project.Id}/files/src/api.txt?snapshot={snapshotId}", Ct));
    }

    [Fact(Timeout = 180_000)]
    public async Task Requirements_SameIdempotencyKey_SameJobAndAnotherBodyRefused()
    {
        var user = SessionTestBed.NewUser();
        using var bearer = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(bearer, Ct);
        var body = new { projectId = project.Id, requirements = "create src/once.txt with once" };

        var first = await Headless.AcceptedAsync(await Headless.PostAsync(bearer, body, "retry-key-1"));
        var second = await Headless.AcceptedAsync(await Headless.PostAsync(bearer, body, "retry-key-1"));
        var other = await Headless.PostAsync(bearer, new { projectId = project.Id, requirements = "something else" }, "retry-key-1");

        Assert.Equal((string?)first["jobId"], (string?)second["jobId"]);
        await ProblemAssert.ValidationAsync(other, "Idempotency-Key");
        await Headless.FinishedAsync(bearer, (string)first["jobId"]!);
        var jobs = (await bearer.GetFromJsonAsync<JsonObject>($"api/jobs?projectId={project.Id}", Ct))!["items"]!.AsArray();
        Assert.Single(jobs);
        Assert.Equal(2, (await Headless.MessagesAsync(bearer, project.Id)).Count);
        // The key is the caller's: another user's identical key is a request of its own.
        using var stranger = Bed.Api.Client(SessionTestBed.NewUser());
        var strangers = await Headless.PostAsync(stranger, new { requirements = "hello" }, "retry-key-1");
        Assert.NotEqual((string?)first["jobId"], (string?)(await Headless.AcceptedAsync(strangers))["jobId"]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Requirements_BadInput_ProblemNamingTheFieldAndNothingCreated()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var project = await Bed.Api.CreateProjectAsync(client, Ct);

        await ProblemAssert.ValidationAsync(await Headless.PostAsync(client, new { requirements = "   " }), "requirements");
        await ProblemAssert.ValidationAsync(await Headless.PostAsync(client, new { requirements = new string('x', 20_001) }), "requirements");
        await ProblemAssert.ValidationAsync(await Headless.PostAsync(client, new { requirements = "hi", templateId = "no-such-template" }), "templateId");
        await ProblemAssert.ValidationAsync(await Headless.PostAsync(client, new { requirements = "hi", export = new { codec = "vp9" } }), "export.codec");
        await ProblemAssert.ValidationAsync(await Headless.PostAsync(client, new { projectId = project.Id, requirements = "hi", export = new { codec = "../h264" } }), "export.codec");
        await ProblemAssert.ValidationAsync(await Headless.PostAsync(client, new { requirements = "hi", webhookUrl = "http://169.254.42.42/latest/meta-data" }), "webhookUrl");
        await ProblemAssert.ValidationAsync(await Headless.PostAsync(client, new { requirements = "hi", webhookUrl = "ftp://example.com/" }), "webhookUrl");
        await ProblemAssert.ValidationAsync(await Headless.PostAsync(client, new { projectId = project.Id, name = "rename", requirements = "hi" }), "name");
        await ProblemAssert.ValidationAsync(await Headless.PostAsync(client, new { requirements = "hi" }, new string('k', 256)), "Idempotency-Key");
        var foreign = await Headless.PostAsync(client, new { projectId = Guid.NewGuid().ToString("D"), requirements = "hi" });
        var problem = await ProblemAssert.IsProblemAsync(foreign, HttpStatusCode.NotFound, "not-found");
        Assert.Equal("projectId", problem.GetProperty("field").GetString());

        var projects = (await client.GetFromJsonAsync<JsonObject>("api/projects", Ct))!["items"]!.AsArray();
        Assert.Single(projects);
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>($"api/jobs?projectId={project.Id}", Ct))!["items"]!.AsArray());
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("api/webhooks", Ct))!["items"]!.AsArray());
    }

    [Fact(Timeout = 180_000)]
    public async Task Headless_AnotherUsersIds_NotFoundLikeMissingOnes()
    {
        var owner = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(owner);
        await using var receiver = await WebhookReceiver.StartAsync();
        var webhook = await RegisterAsync(client, receiver.Url.ToString());
        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new { requirements = "hello" }));
        var jobId = (string)accepted["jobId"]!;
        var projectId = (string)accepted["projectId"]!;
        await Headless.FinishedAsync(client, jobId);
        var delivery = receiver.WaitForAsync(WebhookEvents.JobCompleted, Ct);
        var deliveryId = (string)(await delivery).Json["id"]!;

        using var stranger = Bed.Api.Client(SessionTestBed.NewUser());
        var webhookId = (string)webhook["id"]!;
        foreach (var response in new[]
        {
            await stranger.GetAsync($"api/jobs/{jobId}", Ct),
            await stranger.GetAsync($"api/jobs?projectId={projectId}", Ct),
            await Headless.PostAsync(stranger, new { projectId, requirements = "take over" }),
            await stranger.GetAsync($"api/webhooks/{webhookId}/deliveries", Ct),
            await stranger.PostAsync($"api/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", null, Ct),
            await stranger.DeleteAsync($"api/webhooks/{webhookId}", Ct),
            await stranger.GetAsync("api/jobs/not-a-job", Ct),
        })
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        }
        Assert.Empty((await stranger.GetFromJsonAsync<JsonObject>("api/webhooks", Ct))!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"api/webhooks/{webhookId}/deliveries", Ct)).StatusCode);
    }

    [Fact(Timeout = 180_000)]
    public async Task Webhooks_ReceiverDownThenUp_DeliveryArrivesSignedAndTheLogShowsEveryAttempt()
    {
        var user = SessionTestBed.NewUser();
        using var client = Bed.Api.Client(user);
        var port = WebhookReceiver.FreePort();
        var webhook = await RegisterAsync(client, $"http://127.0.0.1:{port}/hooks");
        var webhookId = (string)webhook["id"]!;

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new { requirements = "create src/late.txt with late" }));
        await Headless.FinishedAsync(client, (string)accepted["jobId"]!);
        await WaitUntilAsync(async () => (await DeliveriesAsync(client, webhookId)) is [{ } d] && (int)d["attemptCount"]! >= 2);
        await using var receiver = await WebhookReceiver.StartAsync(port);
        var delivery = await receiver.WaitForAsync(WebhookEvents.JobCompleted, Ct);

        Assert.True(WebhookSignature.Verify((string)webhook["secret"]!, delivery.Signature, Encoding.UTF8.GetBytes(delivery.Body),
            DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
        Assert.Equal((string?)accepted["jobId"], (string?)delivery.Json["data"]!["jobId"]);
        await WaitUntilAsync(async () => (string?)(await DeliveriesAsync(client, webhookId))[0]!["status"] == DeliveryStatuses.Delivered);
        var log = (await DeliveriesAsync(client, webhookId))[0]!;
        var attempts = log["attempts"]!.AsArray();
        Assert.Equal((string?)delivery.Json["id"], (string?)log["id"]);
        Assert.True(attempts.Count >= 3);
        Assert.All(attempts.Take(attempts.Count - 1), a => Assert.Null((int?)a!["statusCode"]));
        Assert.All(attempts.Take(attempts.Count - 1), a => Assert.False(string.IsNullOrEmpty((string?)a!["error"])));
        Assert.Equal(200, (int?)attempts[^1]!["statusCode"]);
        Assert.Equal("receiver answered 200", (string?)attempts[^1]!["response"]);
        Assert.True((double)attempts[^1]!["latencyMs"]! > 0);

        // Redelivery sends the same delivery again, freshly signed.
        var redeliver = await client.PostAsync($"api/webhooks/{webhookId}/deliveries/{log["id"]}/redeliver", null, Ct);
        Assert.Equal(HttpStatusCode.Accepted, redeliver.StatusCode);
        await WaitUntilAsync(() => Task.FromResult(receiver.Deliveries.Count == 2));
        var again = receiver.Deliveries.Last();
        Assert.Equal(delivery.Body, again.Body);
        Assert.True(WebhookSignature.Verify((string)webhook["secret"]!, again.Signature, Encoding.UTF8.GetBytes(again.Body),
            DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
    }

    [Fact(Timeout = 60_000)]
    public async Task Webhooks_InternalOrBadDestinations_RefusedNamingTheField()
    {
        using var client = Bed.Api.Client(SessionTestBed.NewUser());
        foreach (var url in new[]
        {
            "http://169.254.42.42/latest/meta-data/", "http://10.0.0.8/hook", "http://192.168.1.1/", "http://172.16.5.4/",
            "http://[::ffff:169.254.42.42]/", "http://[fd00:ec2::254]/", "http://0.0.0.0:8080/", "http://user:pw@example.com/", "not a url",
        })
        {
            var response = await client.PostAsJsonAsync("api/webhooks", new { url, events = CompletedEvent }, Ct);
            await ProblemAssert.ValidationAsync(response, "url");
        }
        await ProblemAssert.ValidationAsync(
            await client.PostAsJsonAsync("api/webhooks", new { url = "http://127.0.0.1:9/hook", events = UnknownEvent }, Ct), "events");
        Assert.Empty((await client.GetFromJsonAsync<JsonObject>("api/webhooks", Ct))!["items"]!.AsArray());
    }

    private static async Task<JsonObject> RegisterAsync(HttpClient client, string url)
    {
        var response = await client.PostAsJsonAsync("api/webhooks", new { url, events = JobEvents }, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        Assert.StartsWith("whsec_", (string?)created["secret"], StringComparison.Ordinal);
        // The secret is shown once: the list never has it.
        var listed = await client.GetStringAsync("api/webhooks", Ct);
        Assert.DoesNotContain((string)created["secret"]!, listed, StringComparison.Ordinal);
        return created;
    }

    private static async Task<JsonArray> DeliveriesAsync(HttpClient client, string webhookId) =>
        (await client.GetFromJsonAsync<JsonObject>($"api/webhooks/{webhookId}/deliveries", Ct))!["items"]!.AsArray();

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        while (!await condition()) { await Task.Delay(50, Ct); }
    }
}
