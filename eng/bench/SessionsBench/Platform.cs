using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc.Testing;
using StoryDream.Api.Auth;
using StoryDream.Bench;

namespace SessionsBench;

/// <summary>
/// The platform as the app host runs it locally, in this process: the API on Kestrel and the sync worker, over real
/// Redis and the emulators, with session pods (the scripted agent) in a state folder of the benchmark's own.
/// </summary>
internal sealed class Platform : IAsyncDisposable
{
    private const string Issuer = "storydream-bench";
    private const string Audience = "storydream-bench";
    private readonly WebApplicationFactory<StoryDream.SyncWorker.Program> _syncWorker;
    private readonly WebApplicationFactory<StoryDream.Api.Program> _api;

    private Platform(WebApplicationFactory<StoryDream.SyncWorker.Program> syncWorker, WebApplicationFactory<StoryDream.Api.Program> api, Uri baseAddress,
        string stateDirectory, string signingKey)
    {
        _syncWorker = syncWorker;
        _api = api;
        BaseAddress = baseAddress;
        StateDirectory = stateDirectory;
        Token = DevTokens.Mint(signingKey, Issuer, Audience, "bench-user");
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(3) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    public Uri BaseAddress { get; }

    public string StateDirectory { get; }

    public string Token { get; }

    public HttpClient Http { get; }

    public static Platform Start(string redis, string firestore, string storage)
    {
        var signingKey = DevTokens.NewSigningKey();
        var stateDirectory = Path.Combine(Path.GetTempPath(), "sd-bench-sessions-" + Guid.NewGuid().ToString("N")[..8]);
        var shared = InProcessHost.CloudSettings(redis, firestore, storage);
        var syncWorker = InProcessHost.Create<StoryDream.SyncWorker.Program>(shared.Append(new("SyncWorker:ReadBlockTime", "00:00:00.100")));
        _ = syncWorker.Services;

        var api = InProcessHost.Create<StoryDream.Api.Program>(shared.Concat(new Dictionary<string, string?>
        {
            ["Auth:Issuer"] = Issuer,
            ["Auth:Audience"] = Audience,
            ["Auth:SigningKey"] = signingKey,
            ["RateLimiting:PermitLimit"] = "1000000",
            ["Sessions:PreviewTokenKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Sessions:PublicPreviewUrl"] = "http://127.0.0.1:8080/preview/{sessionId}/",
            ["Sessions:Local:StateDirectory"] = stateDirectory,
            ["Sessions:Local:Environment:STORYDREAM_AGENT"] = "scripted",
        }));
        var baseAddress = InProcessHost.StartOnLoopback(api);
        return new Platform(syncWorker, api, baseAddress, stateDirectory, signingKey);
    }

    public async Task<string> CreateProjectAsync()
    {
        var response = await Http.PostAsJsonAsync("api/projects", new { name = "Bench" });
        response.EnsureSuccessStatusCode();
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    /// <summary>Starts (or reuses) the project's session; returns its id.</summary>
    public async Task<string> StartSessionAsync(string projectId)
    {
        using var response = await Http.PostAsync($"api/projects/{projectId}/session", null);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"Starting a session answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
    }

    /// <summary>Stops the session (final sync, teardown) and waits until it is gone.</summary>
    public async Task StopSessionAsync(string projectId)
    {
        using (var response = await Http.DeleteAsync($"api/projects/{projectId}/session")) { response.EnsureSuccessStatusCode(); }
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            using var check = await Http.GetAsync($"api/projects/{projectId}/session");
            if (check.StatusCode == HttpStatusCode.NotFound) { return; }
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(2)) { throw new TimeoutException("The session did not stop."); }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _api.DisposeAsync();
        await _syncWorker.DisposeAsync();
        // The API leaves pods running on purpose (a restarted API adopts them); the benchmark's end is theirs too.
        if (!Directory.Exists(StateDirectory)) { return; }
        foreach (var state in Directory.GetFiles(StateDirectory, "state.json", SearchOption.AllDirectories))
        {
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(state));
            try
            {
                using var process = Process.GetProcessById(document.RootElement.GetProperty("Pid").GetInt32());
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }
        Directory.Delete(StateDirectory, recursive: true);
    }
}
