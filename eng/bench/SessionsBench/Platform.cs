using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using StoryDream.Api.Auth;

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
        var shared = new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = redis,
            ["GoogleCloud:ProjectId"] = "bench-" + Guid.NewGuid().ToString("N")[..12],
            ["GoogleCloud:FirestoreEmulatorHost"] = firestore,
            ["GoogleCloud:StorageEmulatorHost"] = storage,
            ["GoogleCloud:Storage:Bucket"] = "bench-" + Guid.NewGuid().ToString("N")[..12],
            ["Logging:LogLevel:Default"] = "Warning",
        };
        var syncWorker = new WebApplicationFactory<StoryDream.SyncWorker.Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Production");
            foreach (var (key, value) in shared) { builder.UseSetting(key, value); }
            builder.UseSetting("SyncWorker:ReadBlockTime", "00:00:00.100");
        });
        _ = syncWorker.Services;

        var api = new WebApplicationFactory<StoryDream.Api.Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Production");
            foreach (var (key, value) in shared) { builder.UseSetting(key, value); }
            builder.UseSetting("Auth:Issuer", Issuer);
            builder.UseSetting("Auth:Audience", Audience);
            builder.UseSetting("Auth:SigningKey", signingKey);
            builder.UseSetting("RateLimiting:PermitLimit", "1000000");
            builder.UseSetting("Sessions:PreviewTokenKey", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
            builder.UseSetting("Sessions:PublicPreviewUrl", "http://127.0.0.1:8080/preview/{sessionId}/");
            builder.UseSetting("Sessions:Local:StateDirectory", stateDirectory);
            builder.UseSetting("Sessions:Local:Environment:STORYDREAM_AGENT", "scripted");
        });
        api.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        api.StartServer();
        var address = api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Platform(syncWorker, api, new Uri(address + "/"), stateDirectory, signingKey);
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
