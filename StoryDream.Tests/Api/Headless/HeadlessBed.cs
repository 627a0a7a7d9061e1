using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using StoryDream.Tests.Api.Sessions;
using StoryDream.Tests.Infrastructure;

namespace StoryDream.Tests.Api.Headless;

/// <summary>A session test bed set up for headless jobs: loopback webhooks allowed, quick retries and takeovers, exports polled often.</summary>
public sealed class HeadlessBedFixture(TestServers servers) : IAsyncLifetime
{
    private SessionTestBed? _bed;

    public TestServers Servers => servers;

    public SessionTestBed Bed => _bed ?? throw new InvalidOperationException("Not initialized.");

    public static Dictionary<string, string?> Settings() => new()
    {
        ["Webhooks:AllowLoopback"] = "true",
        ["Webhooks:RequireHttps"] = "false",
        ["Webhooks:FirstRetryDelay"] = "00:00:00.200",
        ["Webhooks:MaxRetryDelay"] = "00:00:00.500",
        ["Webhooks:PollInterval"] = "00:00:00.100",
        ["Headless:ClaimIdleTime"] = "00:00:03",
        ["Headless:ReadBlockTime"] = "00:00:00.200",
        // A job's exporting phase ends soon after its render.
        ["Exports:PollInterval"] = "00:00:00.250",
    };

    public async ValueTask InitializeAsync() => _bed = await SessionTestBed.StartAsync(servers, Settings());

    public async ValueTask DisposeAsync()
    {
        if (_bed is not null) { await _bed.DisposeAsync(); }
    }
}

/// <summary>What the headless tests do over HTTP: API keys, requirements, and waiting on jobs.</summary>
internal static class Headless
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new API key of <paramref name="user"/> (made with their bearer token) and a client that sends it.</summary>
    public static async Task<(string ClientId, HttpClient Client)> ApiKeyClientAsync(ApiReplica api, string user, string name = "ci-bot")
    {
        using var bearer = api.Client(user);
        var response = await bearer.PostAsJsonAsync("api/keys", new { name }, Ct);
        response.EnsureSuccessStatusCode();
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
        var client = api.Client(null);
        client.DefaultRequestHeaders.Add("X-Api-Key", (string)created["key"]!);
        return ((string)created["id"]!, client);
    }

    public static async Task<JsonObject> AcceptedAsync(HttpResponseMessage response)
    {
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>(Ct))!;
    }

    public static Task<HttpResponseMessage> PostAsync(HttpClient client, object body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "api/requirements") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null) { request.Headers.Add("Idempotency-Key", idempotencyKey); }
        return client.SendAsync(request, Ct);
    }

    /// <summary>Polls the job until it is complete or failed.</summary>
    public static async Task<JsonObject> FinishedAsync(HttpClient client, string jobId)
    {
        while (true)
        {
            var job = (await client.GetFromJsonAsync<JsonObject>($"api/jobs/{jobId}", Ct))!;
            if ((string?)job["status"] is "complete" or "failed") { return job; }
            await Task.Delay(100, Ct);
        }
    }

    /// <summary>Polls the job until it reaches <paramref name="phase"/>.</summary>
    public static async Task WaitForPhaseAsync(HttpClient client, string jobId, string phase)
    {
        while ((string?)(await client.GetFromJsonAsync<JsonObject>($"api/jobs/{jobId}", Ct))!["phase"] != phase)
        {
            await Task.Delay(50, Ct);
        }
    }

    public static async Task<JsonArray> MessagesAsync(HttpClient client, string projectId) =>
        (JsonArray)(await client.GetFromJsonAsync<JsonObject>($"api/projects/{projectId}/messages", Ct))!["items"]!;

    public static void UseBearer(HttpClient client, string token) => client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
}
