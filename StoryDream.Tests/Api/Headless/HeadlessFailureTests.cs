using System.Net;
using System.Text;
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
        settings["Headless:JobTimeout"] = "00:00:06";
        await using var bed = await SessionTestBed.StartAsync(servers, settings);
        var user = SessionTestBed.NewUser();
        using var client = bed.Api.Client(user);
        await using var receiver = await WebhookReceiver.StartAsync();

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new
        {
            requirements = "[slow 60000ms]\ncreate src/late.txt with never",
            webhookUrl = receiver.Url.ToString(),
        }));
        var jobId = (string)accepted["jobId"]!;
        var projectId = (string)accepted["projectId"]!;

        var delivery = await receiver.WaitForAsync(WebhookEvents.JobFailed, Ct);
        Assert.True(WebhookSignature.Verify((string)accepted["webhook"]!["secret"]!, delivery.Signature, Encoding.UTF8.GetBytes(delivery.Body),
            DateTimeOffset.UtcNow, WebhookSignature.DefaultTolerance));
        var job = await Headless.FinishedAsync(client, jobId);
        Assert.Equal("failed", (string?)job["status"]);
        Assert.Contains("deadline", (string?)job["error"], StringComparison.Ordinal);
        // The turn was cancelled, so the project is free for the next one, and the session the job started is stopped.
        await WaitUntilAsync(async () => (await client.GetAsync($"api/projects/{projectId}/session", Ct)).StatusCode == HttpStatusCode.NotFound);
        var history = await Headless.MessagesAsync(client, projectId);
        Assert.NotEqual("complete", (string?)history[^1]!["status"]);
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

        var delivery = await receiver.WaitForAsync(WebhookEvents.JobFailed, Ct);
        Assert.Equal("failed", (string?)delivery.Json["data"]!["status"]);
        var job = await Headless.FinishedAsync(client, (string)accepted["jobId"]!);
        Assert.Equal("failed", (string?)job["status"]);
        Assert.StartsWith("The session could not start", (string?)job["error"], StringComparison.Ordinal);
        Assert.Null(job["timings"]!["agent_running"]);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        while (!await condition()) { await Task.Delay(100, Ct); }
    }
}
