using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StoryDream.Api.Webhooks;
using StoryDream.Tests.Api.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Headless;

public sealed class HeadlessRestartTests(TestServers servers)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 240_000)]
    public async Task Runner_ProcessStoppedMidTurn_AnotherProcessFinishesTheJobExactlyOnce()
    {
        var settings = HeadlessBedFixture.Settings();
        settings["Headless:ClaimIdleTime"] = "00:00:02";
        await using var bed = await SessionTestBed.StartAsync(servers, settings);
        // The first API process gets no shutdown window: its turn and job are cut off where they stand, as in a crash.
        await bed.RemoveApiAsync(bed.Api);
        var first = await bed.AddApiAsync(servers, configureServices: services => services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.Zero));
        var user = SessionTestBed.NewUser();
        using var client = first.Client(user);
        await using var receiver = await WebhookReceiver.StartAsync();

        var accepted = await Headless.AcceptedAsync(await Headless.PostAsync(client, new
        {
            requirements = "[slow 1500ms]\ncreate src/a.txt with a\ncreate src/b.txt with b",
            webhookUrl = receiver.Url.ToString(),
        }));
        var jobId = (string)accepted["jobId"]!;
        var projectId = (string)accepted["projectId"]!;
        await Headless.WaitForPhaseAsync(client, jobId, "agent_running");
        await Task.Delay(500, Ct);
        await bed.RemoveApiAsync(first);
        var second = await bed.AddApiAsync(servers);
        using var secondClient = second.Client(user);

        var job = await Headless.FinishedAsync(secondClient, jobId);

        Assert.Equal("complete", (string?)job["status"]);
        Assert.Equal(2, (int?)job["attempts"]);
        var history = await Headless.MessagesAsync(secondClient, projectId);
        Assert.Equal(["user", "assistant"], history.Select(m => (string?)m!["role"]));
        Assert.Equal("complete", (string?)history[1]!["status"]);
        var snapshotId = (string)job["result"]!["snapshotId"]!;
        Assert.Equal("b", await secondClient.GetStringAsync($"api/projects/{projectId}/files/src/b.txt?snapshot={snapshotId}", Ct));
        await receiver.WaitForAsync(WebhookEvents.JobCompleted, Ct);
        // Long enough for a second announcement to have arrived, had there been one.
        await Task.Delay(1_000, Ct);
        Assert.Single(receiver.Deliveries);
        var deliveries = (await secondClient.GetFromJsonAsync<JsonObject>($"api/webhooks/{accepted["webhook"]!["id"]}/deliveries", Ct))!["items"]!.AsArray();
        Assert.Single(deliveries);
    }
}
