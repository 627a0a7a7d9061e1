using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using StoryDream.Api.Webhooks;
using StoryDream.Tests.Api.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Headless;

/// <summary>Jobs that cannot finish: each ends failed, says why, announces <c>job.failed</c> and leaves no session running.</summary>
public sealed class HeadlessFailureTests(TestServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 180_000)]
    public async Task Job_AgentStillRunningAtTheDeadline_FailedNamingTheDeadlineAndTheTurnCancelled()
    {
        var settings = HeadlessBedFixture.Settings();
        settings["Headless:JobTimeout"] = "00:00:10";
        await using var bed = await SessionTestBed.StartAsync(servers, settings);
        var user = SessionTestBed.NewUser();
        using var client = bed.Api.Client(user);
        var project = await bed.Api.CreateProjectAsync(client, Ct);
        // The session is open before the job, so the deadline falls in the agent's turn, not in a session start.
        (await client.PostAsync($"api/projects/{project.Id}/session", null, Ct)).EnsureSuccessStatusCode();
        await using var receiver = await WebhookReceiver.StartAsync();

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new
        {
            projectId = project.Id,
            requirements = "[slow 60000ms]\ncreate src/late.txt with never",
            webhookUrl = receiver.Url.ToString(),
        }));

        var job = await FinishedWithinAsync(client, (string)accepted["jobId"]!, TimeSpan.FromSeconds(60));
        Assert.Equal("failed", (string?)job["status"]);
        Assert.Contains("deadline", (string?)job["error"], StringComparison.Ordinal);
        var delivery = await receiver.WaitForAsync(WebhookEvents.JobFailed, Ct);
        Assert.True(WebhookSignature.Verify((string)accepted["webhook"]!["secret"]!, delivery.Signature, Encoding.UTF8.GetBytes(delivery.Body),
            DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
        var history = await Headless.MessagesAsync(client, project.Id);
        Assert.NotEqual("complete", (string?)history[^1]!["status"]);
        // The turn was cancelled, not left running: the next job gets the project's turn, in the session left open.
        var next = await Headless.AcceptedAsync(await Headless.PostAsync(client, new { projectId = project.Id, requirements = "create src/next.txt with next" }));
        Assert.Equal("complete", (string?)(await FinishedWithinAsync(client, (string)next["jobId"]!, TimeSpan.FromSeconds(60)))["status"]);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"api/projects/{project.Id}/session", Ct)).StatusCode);
    }

    [Fact(Timeout = 180_000)]
    public async Task Job_SessionCannotStart_FailedSayingSoAndAnnounced()
    {
        var settings = HeadlessBedFixture.Settings();
        // A pod that refuses its configuration exits at once, so the session start fails.
        settings["Sessions:Local:Environment:STORYDREAM_AGENT"] = "no-such-agent";
        settings["Sessions:StartTimeout"] = "00:00:30";
        await using var bed = await SessionTestBed.StartAsync(servers, settings);
        var user = SessionTestBed.NewUser();
        using var client = bed.Api.Client(user);
        await using var receiver = await WebhookReceiver.StartAsync();

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new
        {
            requirements = "create src/a.txt with a",
            webhookUrl = receiver.Url.ToString(),
        }));

        var job = await FinishedWithinAsync(client, (string)accepted["jobId"]!, TimeSpan.FromSeconds(60));
        Assert.Equal("failed", (string?)job["status"]);
        Assert.StartsWith("The session could not start", (string?)job["error"], StringComparison.Ordinal);
        Assert.Null(job["timings"]!["agent_running"]);
        var delivery = await receiver.WaitForAsync(WebhookEvents.JobFailed, Ct);
        Assert.Equal("failed", (string?)delivery.Json["data"]!["status"]);
    }

    /// <summary>Polls the job until it ends; past <paramref name="within"/> the test fails showing the job as it stands.</summary>
    private static async Task<JsonObject> FinishedWithinAsync(HttpClient client, string jobId, TimeSpan within)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(within);
        JsonObject? job = null;
        try
        {
            while (true)
            {
                job = (await client.GetFromJsonAsync<JsonObject>($"api/jobs/{jobId}", timeout.Token))!;
                if ((string?)job["status"] is "complete" or "failed") { return job; }
                await Task.Delay(100, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            throw new TimeoutException($"Job {jobId} did not end within {within.TotalSeconds:0} s: {job?.ToJsonString()}");
        }
    }
}
